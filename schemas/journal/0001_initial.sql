-- SPDX-License-Identifier: MIT
-- hoard journal schema, version 1. Applied in one transaction; PRAGMA
-- user_version is set to 1 by the migration runner, not here.
-- Paths are BLOBs (POSIX names are bytes); hashes and object ids are 32-byte
-- BLOBs (BLAKE2b-256).

-- Key/value facts about the journal itself: its random id (a cursor from
-- another journal means "rescan everything") and how far the change log has
-- been pruned.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY NOT NULL,
  value ANY
) STRICT;
INSERT INTO meta (key, value) VALUES ('journal_id', lower(hex(randomblob(16))));
INSERT INTO meta (key, value) VALUES ('pruned_through_seq', 0);

CREATE TABLE shares (
  id                  INTEGER PRIMARY KEY,
  name                TEXT NOT NULL UNIQUE,
  remote_root         BLOB NOT NULL,
  cache_root          BLOB NOT NULL,
  remote_fsid         TEXT NOT NULL DEFAULT '',
  remote_mount_source TEXT NOT NULL DEFAULT '',
  remote_fstype       TEXT NOT NULL DEFAULT '',
  remote_marker_id    TEXT NOT NULL DEFAULT '',
  remote_mount_point  BLOB NOT NULL DEFAULT x'',
  remote_mount_root   BLOB NOT NULL DEFAULT x'',
  state               TEXT NOT NULL DEFAULT 'offline'
                      CHECK (state IN ('online', 'offline', 'reintegrating')),
  user_offline        INTEGER NOT NULL DEFAULT 0 CHECK (user_offline IN (0, 1)),
  -- Change-log records with seq <= this are being (or were) replayed by the
  -- engine and are never rewritten by the optimiser (Coda freezes them too).
  frozen_through_seq  INTEGER NOT NULL DEFAULT 0,
  created_at_ns       INTEGER NOT NULL
) STRICT;

CREATE TABLE pins (
  share_id INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  path     BLOB NOT NULL,
  priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 1000),
  PRIMARY KEY (share_id, path)
) STRICT, WITHOUT ROWID;

-- Content objects kept by the base store, with reference counts kept by the
-- triggers below (never by application code, so they cannot drift).
CREATE TABLE objects (
  id       BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 32),
  size     INTEGER,
  refcount INTEGER NOT NULL DEFAULT 0 CHECK (refcount >= 0)
) STRICT, WITHOUT ROWID;
CREATE INDEX objects_unreferenced ON objects (refcount) WHERE refcount = 0;

CREATE TABLE base (
  share_id       INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  path           BLOB NOT NULL,
  type           INTEGER NOT NULL CHECK (type BETWEEN 0 AND 4),
  size           INTEGER NOT NULL,
  mode           INTEGER NOT NULL,
  mtime_ns       INTEGER NOT NULL,
  ctime_ns       INTEGER NOT NULL,
  inode          INTEGER NOT NULL,
  data_version   BLOB NOT NULL,
  hash           BLOB CHECK (hash IS NULL OR length(hash) = 32),
  object         BLOB CHECK (object IS NULL OR length(object) = 32),
  symlink_target BLOB NOT NULL,
  PRIMARY KEY (share_id, path)
) STRICT, WITHOUT ROWID;

CREATE TABLE change_log (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even after pruning
  share_id     INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  op           INTEGER NOT NULL CHECK (op BETWEEN 1 AND 9),
  path         BLOB NOT NULL,
  to_path      BLOB,
  mode         INTEGER NOT NULL DEFAULT 0,
  target       BLOB,
  logged_at_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX change_log_path ON change_log (share_id, path);
CREATE INDEX change_log_to_path ON change_log (share_id, to_path);

CREATE TABLE snapshots (
  id          INTEGER PRIMARY KEY,
  share_id    INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  label       TEXT NOT NULL DEFAULT '',
  taken_at_ns INTEGER NOT NULL,
  through_seq INTEGER NOT NULL
) STRICT;
CREATE INDEX snapshots_share ON snapshots (share_id);

CREATE TABLE snapshot_entries (
  snapshot_id    INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
  path           BLOB NOT NULL,
  type           INTEGER NOT NULL,
  size           INTEGER NOT NULL,
  mode           INTEGER NOT NULL,
  mtime_ns       INTEGER NOT NULL,
  ctime_ns       INTEGER NOT NULL,
  inode          INTEGER NOT NULL,
  data_version   BLOB NOT NULL,
  hash           BLOB,
  object         BLOB,
  symlink_target BLOB NOT NULL,
  PRIMARY KEY (snapshot_id, path)
) STRICT, WITHOUT ROWID;

CREATE TABLE conflicts (
  id             INTEGER PRIMARY KEY,
  share_id       INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  path           BLOB NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('content', 'modify-delete', 'delete-modify',
                                                'create-create', 'type', 'metadata',
                                                'dir-delete', 'rename-rename')),
  state          TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
  resolution     TEXT,
  detail         TEXT NOT NULL DEFAULT '{}',
  local_object   BLOB CHECK (local_object IS NULL OR length(local_object) = 32),
  remote_object  BLOB CHECK (remote_object IS NULL OR length(remote_object) = 32),
  base_object    BLOB CHECK (base_object IS NULL OR length(base_object) = 32),
  created_at_ns  INTEGER NOT NULL,
  resolved_at_ns INTEGER,
  CHECK ((state = 'open') = (resolution IS NULL))
) STRICT;
CREATE INDEX conflicts_share_path ON conflicts (share_id, path);
-- A path has at most one open conflict.
CREATE UNIQUE INDEX conflicts_one_open ON conflicts (share_id, path) WHERE state = 'open';

-- Reference counting. An object row appears on its first reference
-- (an INSERT guarded by NOT EXISTS: INSERT OR IGNORE inside a trigger
-- takes the outer statement's conflict mode, and an upsert's is ABORT) and is counted up and down by every row that names it.
-- Foreign-key cascades fire these triggers too, so removing a share or a
-- snapshot releases its references.
CREATE TRIGGER base_object_insert AFTER INSERT ON base WHEN NEW.object IS NOT NULL
BEGIN
  INSERT INTO objects (id, size, refcount) SELECT NEW.object, NEW.size, 0
    WHERE NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.object);
  UPDATE objects SET refcount = refcount + 1, size = coalesce(size, NEW.size)
    WHERE id = NEW.object;
END;
CREATE TRIGGER base_object_delete AFTER DELETE ON base WHEN OLD.object IS NOT NULL
BEGIN
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.object;
END;
CREATE TRIGGER base_object_update AFTER UPDATE OF object ON base
  WHEN OLD.object IS NOT NEW.object
BEGIN
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.object;
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.object, NEW.size, 0 WHERE NEW.object IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.object);
  UPDATE objects SET refcount = refcount + 1, size = coalesce(size, NEW.size)
    WHERE id = NEW.object;
END;

CREATE TRIGGER snapshot_entries_object_insert AFTER INSERT ON snapshot_entries
  WHEN NEW.object IS NOT NULL
BEGIN
  INSERT INTO objects (id, size, refcount) SELECT NEW.object, NEW.size, 0
    WHERE NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.object);
  UPDATE objects SET refcount = refcount + 1, size = coalesce(size, NEW.size)
    WHERE id = NEW.object;
END;
CREATE TRIGGER snapshot_entries_object_delete AFTER DELETE ON snapshot_entries
  WHEN OLD.object IS NOT NULL
BEGIN
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.object;
END;
CREATE TRIGGER snapshot_entries_object_update AFTER UPDATE OF object ON snapshot_entries
  WHEN OLD.object IS NOT NEW.object
BEGIN
  UPDATE objects SET refcount = refcount - 1 WHERE id = OLD.object;
  INSERT INTO objects (id, size, refcount)
    SELECT NEW.object, NEW.size, 0 WHERE NEW.object IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM objects WHERE id = NEW.object);
  UPDATE objects SET refcount = refcount + 1, size = coalesce(size, NEW.size)
    WHERE id = NEW.object;
END;

-- Conflicts reference up to three objects (local, remote, base version); their
-- size is not known here, so the row gets NULL until a base row names it.
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
