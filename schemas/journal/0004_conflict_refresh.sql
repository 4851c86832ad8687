-- SPDX-License-Identifier: MIT
-- 0004: a conflict can be refreshed. A resolution applies only against what
-- each side held when the conflict was detected (recorded in its detail); a
-- side that changed since refreshes the open conflict with the new versions
-- (detail and kept objects are updated in place). This trigger keeps the
-- objects' reference counts right across such an update, as the insert and
-- delete triggers of 0001 do.
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
