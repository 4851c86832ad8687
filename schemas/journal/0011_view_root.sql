-- SPDX-License-Identifier: MIT
-- An on-demand share (`hoard share add --on-demand`): the directory where
-- hoardd mounts its FUSE view, the whole share as the user sees it. Its
-- cache_root is then hoardd's own backing directory (in the state
-- directory), where pinned files are kept. Empty for every other share.
ALTER TABLE shares ADD COLUMN view_root BLOB NOT NULL DEFAULT x'';
