-- SPDX-License-Identifier: MIT
-- The last remote listing of a share, every entry beneath its remote root
-- whether pinned or not: what the FUSE view of an on-demand share shows
-- (agent/view), so `ls`, `stat` and `find` answer offline from here without
-- touching the network. Written whole by a pass that listed the remote
-- (Journal::replaceRemoteListing), read by the view when it mounts.
-- Columns as in base (type: FileType 0..4); data_version is the remote's, so
-- a placeholder whose remote file changed since it was listed is detected.
CREATE TABLE remote_listing (
  share_id       INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
  path           BLOB NOT NULL,
  type           INTEGER NOT NULL CHECK (type BETWEEN 0 AND 4),
  size           INTEGER NOT NULL,
  mode           INTEGER NOT NULL,
  mtime_ns       INTEGER NOT NULL,
  ctime_ns       INTEGER NOT NULL,
  inode          INTEGER NOT NULL,
  data_version   BLOB NOT NULL,
  symlink_target BLOB NOT NULL,
  PRIMARY KEY (share_id, path)
) STRICT, WITHOUT ROWID;
