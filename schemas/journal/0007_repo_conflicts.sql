-- SPDX-License-Identifier: MIT
-- 0007: a git repository inside a share is one unit (design.md, "Resolvers"):
-- when it changed on both sides the pass records one conflict of kind 'repo'
-- on the repository's directory instead of one per file inside it. SQLite
-- cannot widen a CHECK in place, so the table is rebuilt with its rows, its
-- indexes and its triggers. The journal runs migrations with foreign keys
-- off (the rows of resolutions keep pointing at the same conflict ids; the
-- dropped table takes no rows with it) and checks them before committing.
CREATE TABLE conflicts_new (
  id             INTEGER PRIMARY KEY,
  share_id       INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  path           BLOB NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('content', 'modify-delete', 'delete-modify',
                                                'create-create', 'type', 'metadata',
                                                'dir-delete', 'rename-rename', 'repo')),
  state          TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
  resolution     TEXT,
  detail         TEXT NOT NULL DEFAULT '{}',
  local_object   BLOB CHECK (local_object IS NULL OR length(local_object) = 32),
  remote_object  BLOB CHECK (remote_object IS NULL OR length(remote_object) = 32),
  base_object    BLOB CHECK (base_object IS NULL OR length(base_object) = 32),
  created_at_ns  INTEGER NOT NULL,
  resolved_at_ns INTEGER,
  refreshed_at_ns INTEGER,
  CHECK ((state = 'open') = (resolution IS NULL))
) STRICT;
-- A copy, not a new reference: the objects' counts stay as they are (the
-- new table has no triggers yet, and dropping a table fires none).
INSERT INTO conflicts_new (id, share_id, path, kind, state, resolution, detail, local_object,
                           remote_object, base_object, created_at_ns, resolved_at_ns,
                           refreshed_at_ns)
  SELECT id, share_id, path, kind, state, resolution, detail, local_object, remote_object,
         base_object, created_at_ns, resolved_at_ns, refreshed_at_ns FROM conflicts;
DROP TABLE conflicts;
ALTER TABLE conflicts_new RENAME TO conflicts;
CREATE INDEX conflicts_share_path ON conflicts (share_id, path);
CREATE UNIQUE INDEX conflicts_one_open ON conflicts (share_id, path) WHERE state = 'open';
CREATE INDEX conflicts_resolved_at ON conflicts (share_id, resolved_at_ns)
  WHERE state = 'resolved';
-- The triggers of 0001, as they were.
CREATE TRIGGER conflicts_objects_insert AFTER INSERT ON conflicts
BEGIN
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.local_object, NULL, 0 WHERE NEW.local_object IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.local_object);
  UPDATE objects SET refcount = refcount + 1 WHERE id = NEW.local_object;
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.remote_object, NULL, 0 WHERE NEW.remote_object IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.remote_object);
  UPDATE objects SET refcount = refcount + 1 WHERE id = NEW.remote_object;
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.base_object, NULL, 0 WHERE NEW.base_object IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.base_object);
  UPDATE objects SET refcount = refcount + 1 WHERE id = NEW.base_object;
END;
CREATE TRIGGER conflicts_objects_delete AFTER DELETE ON conflicts
BEGIN
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.local_object;
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.remote_object;
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.base_object;
END;
CREATE TRIGGER conflicts_objects_update
  AFTER UPDATE OF local_object, remote_object, base_object ON conflicts
BEGIN
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.local_object;
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.remote_object;
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.base_object;
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.local_object, NULL, 0 WHERE NEW.local_object IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.local_object);
  UPDATE objects SET refcount = refcount + 1 WHERE id = NEW.local_object;
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.remote_object, NULL, 0 WHERE NEW.remote_object IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.remote_object);
  UPDATE objects SET refcount = refcount + 1 WHERE id = NEW.remote_object;
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.base_object, NULL, 0 WHERE NEW.base_object IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.base_object);
  UPDATE objects SET refcount = refcount + 1 WHERE id = NEW.base_object;
END;
