-- SPDX-License-Identifier: MIT
-- Retention: what lets snapshots and resolved conflicts be dropped, so their
-- store objects are freed (nothing grows forever).
--
-- A snapshot is the base as it stood when its share went OFFLINE
-- (through_seq: the change log's high-water mark then). ended_through_seq is
-- the high-water mark when the share next left OFFLINE (NULL while that
-- disconnection lasts): every change made during the disconnection has a seq
-- at or below it, also one the optimiser coalesced into an older record.
-- Journal::dropReintegratedSnapshots drops a snapshot once the log holds
-- nothing at or below that mark (see Journal.h for the whole rule).
ALTER TABLE snapshots ADD COLUMN ended_through_seq INTEGER;

-- Journals made before this migration: every snapshot but the latest one of
-- a share that is OFFLINE now belongs to a disconnection that has ended, at
-- some position no later than today's high-water mark, so that mark is a
-- safe (late) end. The latest snapshot of an OFFLINE share stays open.
UPDATE snapshots
   SET ended_through_seq = coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'change_log'), 0)
 WHERE (SELECT state FROM shares WHERE shares.id = snapshots.share_id) != 'offline'
    OR id != (SELECT max(s2.id) FROM snapshots AS s2 WHERE s2.share_id = snapshots.share_id);

-- Resolved conflicts are kept for a retention period after resolved_at_ns
-- (the undo of a resolution needs their versions), then dropped in order.
CREATE INDEX conflicts_resolved_at ON conflicts (share_id, resolved_at_ns)
  WHERE state = 'resolved';
