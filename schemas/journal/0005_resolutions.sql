-- SPDX-License-Identifier: MIT
-- 0005: the history of resolutions, so each can be listed (`hoard conflicts
-- --resolved`) and undone (`hoard undo`) while its versions are kept.
--
-- One row per decision applied to a conflict (a conflict reopened by an undo
-- and decided again has several). decision is the engine's ("keep-local",
-- "keep-remote", "stash", "merged", "delete"); resolver and rule are the
-- caller's words for who decided (empty: a person, directly). The objects
-- are store ids: local_before and remote_before what each side held at the
-- path when it was decided (NULL: absent or not a file), result_object what
-- the path holds on both sides afterwards (NULL: absent, or a directory
-- decision), stash_object what stash_path holds on both sides (stash only).
-- before_detail is the conflict's detail as it was decided (what the undo
-- reopens it with); after_detail what each side held once it was applied
-- (the undo's compare-and-swap). Rows go with their conflict (retention).
CREATE TABLE resolutions (
  id             INTEGER PRIMARY KEY,
  conflict_id    INTEGER NOT NULL REFERENCES conflicts (id) ON DELETE CASCADE,
  share_id       INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  path           BLOB NOT NULL,
  decision       TEXT NOT NULL CHECK (decision IN ('keep-local', 'keep-remote', 'stash',
                                                   'merged', 'delete')),
  resolver       TEXT NOT NULL DEFAULT '',
  rule           TEXT NOT NULL DEFAULT '',
  label          TEXT NOT NULL DEFAULT '',
  local_before   BLOB CHECK (local_before IS NULL OR length(local_before) = 32),
  remote_before  BLOB CHECK (remote_before IS NULL OR length(remote_before) = 32),
  result_object  BLOB CHECK (result_object IS NULL OR length(result_object) = 32),
  stash_path     BLOB,
  stash_object   BLOB CHECK (stash_object IS NULL OR length(stash_object) = 32),
  before_detail  TEXT NOT NULL DEFAULT '{}',
  after_detail   TEXT NOT NULL DEFAULT '{}',
  resolved_at_ns INTEGER NOT NULL,
  undone_at_ns   INTEGER
) STRICT;
CREATE INDEX resolutions_by_share ON resolutions (share_id, id);
CREATE INDEX resolutions_by_conflict ON resolutions (conflict_id);

-- The objects a resolution names are counted like a conflict's, so the
-- store keeps them as long as the row (the retention period).
CREATE TRIGGER resolutions_objects_insert AFTER INSERT ON resolutions
BEGIN
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.local_before, NULL, 0 WHERE NEW.local_before IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.local_before);
  UPDATE objects SET refcount = refcount + 1 WHERE id = NEW.local_before;
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.remote_before, NULL, 0 WHERE NEW.remote_before IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.remote_before);
  UPDATE objects SET refcount = refcount + 1 WHERE id = NEW.remote_before;
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.result_object, NULL, 0 WHERE NEW.result_object IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.result_object);
  UPDATE objects SET refcount = refcount + 1 WHERE id = NEW.result_object;
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.stash_object, NULL, 0 WHERE NEW.stash_object IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.stash_object);
  UPDATE objects SET refcount = refcount + 1 WHERE id = NEW.stash_object;
END;
CREATE TRIGGER resolutions_objects_delete AFTER DELETE ON resolutions
BEGIN
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.local_before;
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.remote_before;
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.result_object;
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.stash_object;
END;

-- Two more intents: a delete decision, and an undo (path: the conflict's,
-- to_path: the stash name it removes, new_hash: the cache's version it puts
-- back). SQLite cannot widen a CHECK in place: the table is rebuilt.
CREATE TABLE intents_new (
  id            INTEGER PRIMARY KEY,
  share_id      INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  op            TEXT NOT NULL CHECK (op IN ('replace', 'mkdir', 'symlink', 'unlink', 'rmdir',
                                            'rename', 'chmod', 'resolve-keep-local',
                                            'resolve-keep-remote', 'resolve-stash',
                                            'resolve-merged', 'resolve-delete', 'undo')),
  path          BLOB NOT NULL,
  to_path       BLOB,
  new_hash      BLOB,
  created_at_ns INTEGER NOT NULL
) STRICT;
INSERT INTO intents_new SELECT id, share_id, op, path, to_path, new_hash, created_at_ns FROM intents;
DROP TABLE intents;
ALTER TABLE intents_new RENAME TO intents;
CREATE INDEX intents_by_share ON intents (share_id, id);
