-- SPDX-License-Identifier: MIT
-- When fetch_missed fetched the file a miss wanted (NULL: not yet). A miss
-- fetched once is not fetched again at the next connection, so a file the
-- user evicted since stays a placeholder; `hoard misses` still lists it.
ALTER TABLE view_misses ADD COLUMN fetched_at_ns INTEGER;
