-- SPDX-License-Identifier: MIT
-- The `ask` policy of on-demand shares: a read offline may end as
-- "declined" (the person answered Fail), and the programs the person
-- answered "Always fail for PROGRAM" for are kept (every share's view fails
-- their reads of missing data at once until the person forgets the answer:
-- `hoard answers forget PROGRAM`). view_misses is rebuilt to allow the new
-- outcome (SQLite cannot change a CHECK in place); its rows are kept.
CREATE TABLE view_misses_0012 (
  id       INTEGER PRIMARY KEY,
  share_id INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  path     BLOB NOT NULL,
  program  TEXT NOT NULL,
  at_ns    INTEGER NOT NULL,
  outcome  TEXT NOT NULL
           CHECK (outcome IN ('failed', 'fetched', 'timed-out', 'interrupted', 'declined'))
) STRICT;
INSERT INTO view_misses_0012 (id, share_id, path, program, at_ns, outcome)
  SELECT id, share_id, path, program, at_ns, outcome FROM view_misses;
DROP TABLE view_misses;
ALTER TABLE view_misses_0012 RENAME TO view_misses;
CREATE INDEX view_misses_by_share ON view_misses (share_id, at_ns);

CREATE TABLE read_answers (
  program TEXT PRIMARY KEY CHECK (length(program) > 0),
  policy  TEXT NOT NULL CHECK (policy IN ('error')),
  at_ns   INTEGER NOT NULL
) STRICT;
