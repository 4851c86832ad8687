-- SPDX-License-Identifier: MIT
-- 0004: a resolution applies only against what each side held when its
-- conflict was detected (recorded in the conflict's detail). When a side has
-- changed since, the open conflict is refreshed in place with the new
-- versions (detail and kept objects; the update trigger of 0001 keeps the
-- objects' reference counts) and stamped here, so a listing can say the
-- conflict now speaks of newer versions than when it was first shown.
-- NULL: never refreshed (every conflict recorded before this migration).
ALTER TABLE conflicts ADD COLUMN refreshed_at_ns INTEGER;

-- An apply (a decision on a conflict: keep-local, keep-remote, stash, a
-- merged result) is one intent: recorded before the remote is touched,
-- removed in the transaction that closes the conflict. path is the
-- conflict's, to_path the stash name (stash only), new_hash the content the
-- path ends with on both sides (NULL: absent). At start-up an apply whose
-- result reached the remote is finished; any other is dropped, leaving the
-- conflict open as it was detected. SQLite cannot widen a CHECK in place, so
-- the table is rebuilt with its rows.
CREATE TABLE intents_new (
  id            INTEGER PRIMARY KEY,
  share_id      INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  op            TEXT NOT NULL CHECK (op IN ('replace', 'mkdir', 'symlink', 'unlink', 'rmdir',
                                            'rename', 'chmod', 'resolve-keep-local',
                                            'resolve-keep-remote', 'resolve-stash',
                                            'resolve-merged')),
  path          BLOB NOT NULL,
  to_path       BLOB,
  new_hash      BLOB,
  created_at_ns INTEGER NOT NULL
) STRICT;
INSERT INTO intents_new SELECT id, share_id, op, path, to_path, new_hash, created_at_ns FROM intents;
DROP TABLE intents;
ALTER TABLE intents_new RENAME TO intents;
CREATE INDEX intents_by_share ON intents (share_id, id);
