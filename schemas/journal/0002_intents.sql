-- SPDX-License-Identifier: MIT
-- Reintegration steps in flight. The engine records an intent before each
-- remote step and removes it, in the same transaction as the base update,
-- once the step is done. At start-up every intent left over from a crash is
-- checked against the real remote: if the remote holds the intended result,
-- the step counts as done (so a later local edit is pushed, not mistaken for
-- a conflict with our own write); otherwise the intent is dropped and the
-- next pass redoes the step from the base.
CREATE TABLE intents (
  id            INTEGER PRIMARY KEY,
  share_id      INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  op            TEXT NOT NULL CHECK (op IN ('replace', 'mkdir', 'symlink', 'unlink', 'rmdir',
                                            'rename', 'chmod')),
  path          BLOB NOT NULL,
  to_path       BLOB,
  new_hash      BLOB,     -- content hash the remote holds at `path` once a replace is done
  created_at_ns INTEGER NOT NULL
) STRICT;

CREATE INDEX intents_by_share ON intents (share_id, id);
