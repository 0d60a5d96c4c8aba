package org.raftkit.runtime;

import java.util.List;

import org.raftkit.spi.LogStorage;
import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which snapshot a node starts from, and the log repair that makes the log fit it. Called once,
 * while the server is built, before any loop runs.
 *
 * <p>The newest snapshot that passed its checks wins, if the log goes on from it: the log must
 * start at or before the entry after it (entries before the log's start exist only in snapshots).
 * A snapshot that failed its CRC is never listed by the store, so the node falls back to an older
 * one when the log still covers the gap, and refuses to start otherwise, since the entries in the
 * gap are nowhere.
 */
final class StartingSnapshot {

    private static final Logger LOG = LoggerFactory.getLogger(StartingSnapshot.class);

    private StartingSnapshot() {
    }

    /**
     * @return the snapshot to restore, or null to start from an empty state machine and the log's
     *         first entry
     * @throws IllegalStateException if the log starts after every usable snapshot
     */
    static SnapshotInfo choose(String id, SnapshotStore store, LogStorage log) {
        List<SnapshotInfo> snapshots = store == null ? List.of() : store.list();
        long logStart = log.firstIndex();
        for (SnapshotInfo s : snapshots) {
            if (s.index() < logStart - 1) {
                continue; // older than the log's start: entries between would be missing
            }
            repairLog(id, s, log);
            return s;
        }
        if (logStart > 1) {
            throw new IllegalStateException(id + ": the log starts at index " + logStart + " but no usable snapshot "
                    + "covers the entries before it (" + (snapshots.isEmpty() ? "there is none"
                    : "the newest usable one ends at " + snapshots.get(0).index()) + "); a snapshot that failed "
                    + "its checks is named in the log above. Restore the snapshot directory from a backup, or "
                    + "start this node with an empty data directory so that it catches up from the leader");
        }
        return null;
    }

    /**
     * Makes the log go on from the snapshot: if it does not hold the snapshot's entry (a crash
     * came between installing a leader's snapshot and resetting the log, or the log conflicts with
     * it), the log is reset to start right after it (Figure 13 rule 7).
     */
    private static void repairLog(String id, SnapshotInfo s, LogStorage log) {
        boolean holds = s.index() <= log.lastIndex() && log.term(s.index()) == s.term();
        boolean startsAfter = s.index() == log.firstIndex() - 1 && log.term(s.index()) == s.term();
        if (holds || startsAfter) {
            return;
        }
        LOG.warn("{}: the log [{}, {}] does not go on from the snapshot at index {} term {}; resetting it to start "
                + "after the snapshot", id, log.firstIndex(), log.lastIndex(), s.index(), s.term());
        log.reset(s.index(), s.term());
        log.sync();
    }
}
