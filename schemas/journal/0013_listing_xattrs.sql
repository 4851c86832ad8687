-- SPDX-License-Identifier: MIT
-- The user.* extended attributes of each entry of an on-demand share's
-- remote listing, so the view answers getfattr from here (offline too,
-- never waiting). Encoded as (name length, name, value length, value)*
-- with 4-byte big-endian lengths; NULL where they were not read (rows
-- from before this migration, a remote that failed to say): the view then
-- asks the remote while online and shows none offline.
ALTER TABLE remote_listing ADD COLUMN xattrs BLOB;
