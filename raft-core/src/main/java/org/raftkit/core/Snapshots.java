package org.raftkit.core;

import org.raftkit.Role;
import org.raftkit.message.InstallSnapshot;
import org.raftkit.message.InstallSnapshotReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Log compaction and InstallSnapshot (Raft paper §7 and Figure 13, thesis chapter 5): which
 * follower needs the snapshot, what a follower does with one, and how far the log may be compacted.
 *
 * <p>The core never touches a snapshot's bytes. The driver takes snapshots, writes them and streams
 * them in chunks on its own thread; the core learns only "a snapshot at (index, term) is durable"
 * ({@link RaftNode#onSnapshotTaken}, {@link RaftNode#onSnapshotReceived}) and decides what follows
 * from it: where the log now starts, which followers must be sent a snapshot, and when a follower
 * holds one.
 */
final class Snapshots {

    private static final Logger LOG = LoggerFactory.getLogger(Snapshots.class);

    private final RaftNode node;

    Snapshots(RaftNode node) {
        this.node = node;
    }

    // ---------------------------------------------------------------------------------------------
    // Leader: sending
    // ---------------------------------------------------------------------------------------------

    /**
     * The follower needs entries before the log's start: send it the newest snapshot instead
     * (Figure 13: "Invoked by leader to send chunks of a snapshot to a follower").
     */
    void startSending(Progress pr) {
        long index = node.log.snapshotIndex();
        pr.becomeSnapshot(index);
        node.snapshotSends.add(new Ready.SnapshotSend(pr.peerId, index, node.log.snapshotTerm()));
        LOG.info("{} sends {} the snapshot at index {} (it needs index {}, the log starts at {})", node.id,
                pr.peerId, index, pr.nextIndex, node.log.firstIndex());
    }

    /** The follower's answer about a snapshot: progress, or that it holds the snapshot's state. */
    void handleReply(InstallSnapshotReply r) {
        if (node.role != Role.LEADER) {
            return;
        }
        if (r.lastIncludedIndex() > node.log.lastIndex()) {
            node.refuse(r, MessageValidator.Reason.REPLY_BEYOND_LEADER_LOG);
            return;
        }
        Progress pr = node.leader.progress(r.from());
        if (pr == null) {
            return; // not a member (any more)
        }
        pr.recentActive = true;
        if (pr.state != Progress.State.SNAPSHOT || r.lastIncludedIndex() != pr.pendingSnapshot) {
            return; // about an older transfer
        }
        pr.snapshotSilentHeartbeats = 0;
        if (!r.done()) {
            return; // a chunk arrived; the driver streams the next ones
        }
        // The follower's log now matches ours up to the snapshot's index: replicate from there.
        pr.acknowledge(r.lastIncludedIndex());
        pr.becomeProbe(r.lastIncludedIndex() + 1);
        node.replication.markSendPending();
        node.replication.maybeCommit();
        LOG.info("{}: {} holds the snapshot at index {}; replicating from {}", node.id, r.from(),
                r.lastIncludedIndex(), pr.nextIndex);
    }

    /**
     * Once per heartbeat interval: a transfer the follower has not answered for two maximum
     * election timeouts is given up (the follower may be down, or the chunks lost), and the
     * follower is probed again, which starts a new transfer if it still needs one. A transfer that
     * makes progress, however slowly, is never given up.
     */
    void onHeartbeat(Progress pr) {
        if (pr.state != Progress.State.SNAPSHOT) {
            return;
        }
        int limit = Math.max(2, 2 * node.config.electionTimeoutMaxTicks() / node.config.heartbeatIntervalTicks());
        if (++pr.snapshotSilentHeartbeats >= limit) {
            LOG.info("{} gives up sending {} the snapshot at {} (no answer); probing again", node.id, pr.peerId,
                    pr.pendingSnapshot);
            pr.becomeProbe(pr.matchIndex + 1);
            node.replication.markSendPending();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Follower: receiving (Figure 13, receiver implementation)
    // ---------------------------------------------------------------------------------------------

    /**
     * A chunk from the leader. Rule 1 (reply immediately if term < currentTerm) is applied in
     * {@link RaftNode#step}. A snapshot that covers nothing beyond what is committed here is
     * answered as held at once; otherwise the chunk goes to the driver, which writes it (rules 2 to
     * 5: create the file at offset 0, write at offset, reply, wait for more until done) and reports
     * a whole, checked snapshot through {@link RaftNode#onSnapshotReceived}.
     */
    void handleInstallSnapshot(InstallSnapshot m) {
        node.replication.acceptLeader(m.from());
        if (m.lastIncludedIndex() <= node.log.commitIndex()) {
            node.send(new InstallSnapshotReply(node.id, m.from(), node.currentTerm, m.lastIncludedIndex(), 0, true));
            return;
        }
        node.snapshotChunks.add(m);
    }

    /**
     * The driver has a whole, checked snapshot from {@code leader} durable here: rules 6 to 8. The
     * log is kept after the snapshot's entry if it holds that entry, else discarded; the state
     * machine is reset from the snapshot; the configuration at the snapshot's index becomes the one
     * it carries (null: the driver's snapshots carry none, and the configuration this node knows at
     * that index stays); the leader hears once that is durable.
     */
    void onReceived(long index, long term, String leader, Configuration configuration) {
        RaftLog.Install result = node.log.installSnapshot(index, term, configuration);
        if (result != RaftLog.Install.NOTHING) {
            node.installed = new Ready.Installed(index, term, result == RaftLog.Install.DISCARDED);
            LOG.info("{} installed the snapshot at index {} term {} from {} ({} the log)", node.id, index, term, leader,
                    result == RaftLog.Install.DISCARDED ? "discarding" : "keeping the rest of");
        }
        if (!leader.equals(node.id)) {
            node.send(new InstallSnapshotReply(node.id, leader, node.currentTerm, index, 0, true));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Compaction (§7)
    // ---------------------------------------------------------------------------------------------

    /** The driver may delete entries up to {@code upTo}; see {@link RaftLog#compactTo}. */
    void compact(long upTo) {
        long to = node.log.compactTo(upTo);
        if (to > 0) {
            node.compactTo = Math.max(node.compactTo, to);
        }
    }
}
