-- SPDX-License-Identifier: MIT
-- 0008: what a decision on a folder (dir-delete, a file against a folder, a
-- folder against a link) or between two renames left and replaced, so that
-- `hoard undo` can put both sides back as they were.
--
-- before_tree is the JSON text of every entry each side held beneath the
-- decision's paths when it was decided (type, mode, user.* xattrs, a file's
-- bytes as a store object, a link's target); after_tree the same of what
-- each side held once it was applied (with data versions: the undo's
-- compare-and-swap). Both are '' for decisions on files and links, whose
-- columns of 0005 say all. resolution_objects counts the store objects
-- before_tree names, so the store keeps them as long as the row.
ALTER TABLE resolutions ADD COLUMN before_tree TEXT NOT NULL DEFAULT '';
ALTER TABLE resolutions ADD COLUMN after_tree TEXT NOT NULL DEFAULT '';

CREATE TABLE resolution_objects (
  resolution_id INTEGER NOT NULL REFERENCES resolutions (id) ON DELETE CASCADE,
  object        BLOB NOT NULL CHECK (length(object) = 32),
  PRIMARY KEY (resolution_id, object)
) STRICT;

CREATE TRIGGER resolution_objects_insert AFTER INSERT ON resolution_objects
BEGIN
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.object, NULL, 0 WHERE NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.object);
  UPDATE objects SET refcount = refcount + 1 WHERE id = NEW.object;
END;
CREATE TRIGGER resolution_objects_delete AFTER DELETE ON resolution_objects
BEGIN
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.object;
END;
