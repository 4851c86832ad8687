-- SPDX-License-Identifier: MIT
-- Reads of an on-demand share's data that was not there while offline (the
-- FUSE view's misses): what was wanted, by which program, when, and what
-- became of it ("failed", "fetched", "timed-out", "interrupted"). Listed by
-- `hoard misses NAME`; a path missed offline can be fetched on the next
-- connection.
CREATE TABLE view_misses (
  id       INTEGER PRIMARY KEY,
  share_id INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  path     BLOB NOT NULL,
  program  TEXT NOT NULL,
  at_ns    INTEGER NOT NULL,
  outcome  TEXT NOT NULL CHECK (outcome IN ('failed', 'fetched', 'timed-out', 'interrupted'))
) STRICT;
CREATE INDEX view_misses_by_share ON view_misses (share_id, at_ns);
