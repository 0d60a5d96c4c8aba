package org.raftkit.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

import org.raftkit.Role;
import org.raftkit.core.RaftNode;
import org.raftkit.metrics.RaftMetrics;
import org.raftkit.metrics.RaftMetrics.Counter;
import org.raftkit.metrics.RaftMetrics.Distribution;
import org.raftkit.metrics.RaftMetrics.Unit;

/**
 * The one object through which the runtime reports to {@link RaftMetrics}: each thread calls the
 * method for what just happened, where it happened, and every latency reads time through
 * {@link #now()}, so a simulated clock can replace the real one in one place. Names and units are
 * listed in docs/OPERATIONS.md ("Metrics").
 *
 * <p>Threads: {@link #proposed}, {@link #published}, {@link #roleChanged} and {@link #followers} are
 * called on the Raft thread only (they keep unsynchronised state); {@link #synced} on the storage
 * thread; {@link #applied} and {@link #appliedBatch} on the apply thread; {@link #busy} on any.
 */
final class RuntimeMetrics {

    /** Proposals whose commit time is being waited for; more are not timed (the counters still count). */
    static final int MAX_TIMED_PROPOSALS = 4096;

    private final LongSupplier clock;
    private final Counter proposals;
    private final Counter commits;
    private final Counter applies;
    private final Counter preVotes;
    private final Counter elections;
    private final Counter leaderChanges;
    private final Counter busyRejections;
    private final Counter duplicateCommands;
    private final Distribution commitLatency;
    private final Distribution fsyncLatency;
    private final Distribution applyLatency;
    private final Distribution storageBatch;
    private final Distribution applyBatch;

    private final List<String> peers = new ArrayList<>();
    /** Per peer (in {@link #peers} order): the leader's matchIndex, or -1 while this node does not lead. */
    private final AtomicLongArray matchIndex;

    // Raft thread only.
    private long lastCommitIndex = -1;
    private String lastLeader;
    private final long[] timedIndex = new long[MAX_TIMED_PROPOSALS];
    private final long[] timedAtNanos = new long[MAX_TIMED_PROPOSALS];
    private int timedHead;
    private int timedCount;

    /**
     * Registers every metric of node {@code id}.
     *
     * @param clock nanosecond clock for latencies; {@code System::nanoTime} in production
     */
    RuntimeMetrics(String id, List<String> members, RaftMetrics metrics, LiveStatus status, RequestBudget budget,
                   Inbox inbox, LongSupplier clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        Map<String, String> node = Map.of("node", id);
        proposals = metrics.counter("raftkit.proposals", "entries this node proposed as leader", node);
        commits = metrics.counter("raftkit.commits", "entries this node learned are committed", node);
        applies = metrics.counter("raftkit.applies", "entries applied to the state machine", node);
        preVotes = metrics.counter("raftkit.prevotes.started", "times this node became pre-candidate", node);
        elections = metrics.counter("raftkit.elections.started", "times this node became candidate", node);
        leaderChanges = metrics.counter("raftkit.leader.changes", "times this node learned of a new leader", node);
        duplicateCommands = metrics.counter("raftkit.sessions.duplicates",
                "commands answered from the session table instead of applied again", node);
        busyRejections = metrics.counter("raftkit.busy.rejections",
                "calls refused with ServerBusyException (backpressure)", node);
        commitLatency = metrics.distribution("raftkit.commit.latency", Unit.NANOSECONDS,
                "leader: from proposing an entry to knowing it committed", node);
        fsyncLatency = metrics.distribution("raftkit.fsync.latency", Unit.NANOSECONDS,
                "storage: saving term/vote and entries of one group, sync included", node);
        applyLatency = metrics.distribution("raftkit.apply.latency", Unit.NANOSECONDS,
                "StateMachine.apply of one entry", node);
        storageBatch = metrics.distribution("raftkit.storage.batch.entries", Unit.ENTRIES,
                "entries made durable by one sync (group commit)", node);
        applyBatch = metrics.distribution("raftkit.apply.batch.entries", Unit.ENTRIES,
                "entries applied in one batch", node);

        metrics.gauge("raftkit.term", Unit.NONE, "currentTerm", node, () -> status.term);
        metrics.gauge("raftkit.role", Unit.NONE, "0 follower, 1 pre-candidate, 2 candidate, 3 leader", node,
                () -> roleNumber(status.role));
        metrics.gauge("raftkit.commit.index", Unit.NONE, "commitIndex", node, () -> status.commitIndex);
        metrics.gauge("raftkit.applied.index", Unit.NONE, "lastApplied", node, () -> status.appliedIndex);
        metrics.gauge("raftkit.last.index", Unit.NONE, "index of the last entry in this node's log", node,
                () -> status.lastIndex);
        metrics.gauge("raftkit.first.index", Unit.NONE, "first index this node's log holds (compaction moves it)",
                node, () -> status.firstLogIndex);
        metrics.gauge("raftkit.snapshot.index", Unit.NONE, "last included index of the newest snapshot held", node,
                () -> status.snapshotIndex);
        metrics.gauge("raftkit.snapshot.received.bytes", Unit.BYTES,
                "bytes received so far of a snapshot arriving from the leader (0 when none)", node,
                () -> status.snapshotReceivedBytes);
        metrics.gauge("raftkit.pending.requests", Unit.NONE, "calls accepted and not yet answered", node,
                budget::requests);
        metrics.gauge("raftkit.pending.bytes", Unit.BYTES, "payload bytes of those calls", node, budget::bytes);
        metrics.counter("raftkit.inbox.dropped", "inbound messages dropped because the Raft thread's queue was full",
                node, inbox::droppedMessages);

        for (String m : members) {
            if (!m.equals(id)) {
                peers.add(m);
            }
        }
        matchIndex = new AtomicLongArray(peers.size());
        for (int i = 0; i < peers.size(); i++) {
            int p = i;
            matchIndex.set(p, -1);
            Map<String, String> tags = Map.of("node", id, "peer", peers.get(p));
            metrics.gauge("raftkit.follower.match.index", Unit.NONE,
                    "leader only: the follower's matchIndex (-1 on other nodes)", tags, () -> matchIndex.get(p));
            metrics.gauge("raftkit.follower.lag.entries", Unit.ENTRIES,
                    "leader only: entries the leader holds that the follower is not known to (0 on other nodes)", tags,
                    () -> {
                        long match = matchIndex.get(p);
                        return match < 0 ? 0 : Math.max(0, status.lastIndex - match);
                    });
        }
    }

    /**
     * Registers the depth of the storage and apply threads' queues (tasks waiting, each a batch);
     * called once the threads' parts exist. The suppliers are read on the metrics library's thread.
     */
    void queues(RaftMetrics metrics, String id, IntSupplier storageTasks, IntSupplier applyTasks) {
        Map<String, String> node = Map.of("node", id);
        metrics.gauge("raftkit.storage.queue", Unit.NONE, "persistence tasks waiting for the storage thread", node,
                storageTasks::getAsInt);
        metrics.gauge("raftkit.apply.queue", Unit.NONE, "batches and calls waiting for the apply thread", node,
                applyTasks::getAsInt);
    }

    /** The clock every latency is measured with. */
    long now() {
        return clock.getAsLong();
    }

    /** Raft thread: this node, as leader, appended a client's entry at {@code index}. */
    void proposed(long index) {
        proposals.increment(1);
        if (timedCount < MAX_TIMED_PROPOSALS) {
            int slot = (timedHead + timedCount) % MAX_TIMED_PROPOSALS;
            timedIndex[slot] = index;
            timedAtNanos[slot] = now();
            timedCount++;
        }
    }

    /** Raft thread, every turn: the commit index now; counts new commits and times this node's proposals. */
    void published(long commitIndex) {
        if (lastCommitIndex >= 0 && commitIndex > lastCommitIndex) {
            commits.increment(commitIndex - lastCommitIndex);
        }
        lastCommitIndex = commitIndex;
        if (timedCount > 0 && timedIndex[timedHead] <= commitIndex) {
            long t = now();
            while (timedCount > 0 && timedIndex[timedHead] <= commitIndex) {
                commitLatency.record(t - timedAtNanos[timedHead]);
                timedHead = (timedHead + 1) % MAX_TIMED_PROPOSALS;
                timedCount--;
            }
        }
    }

    /** Raft thread: the role or known leader changed. */
    void roleChanged(Role role, String leaderId) {
        if (role == Role.PRE_CANDIDATE) {
            preVotes.increment(1);
        } else if (role == Role.CANDIDATE) {
            elections.increment(1);
        }
        if (leaderId != null && !leaderId.equals(lastLeader)) {
            leaderChanges.increment(1);
            lastLeader = leaderId;
        }
        if (role != Role.LEADER) {
            // Proposals of a lost leadership may never commit here as ours: stop timing them.
            timedCount = 0;
            for (int i = 0; i < peers.size(); i++) {
                matchIndex.lazySet(i, -1);
            }
        }
    }

    /** Raft thread, every turn while leader: the followers' matchIndex. */
    void followers(RaftNode node) {
        if (node.role() != Role.LEADER) {
            return;
        }
        for (int i = 0; i < peers.size(); i++) {
            matchIndex.lazySet(i, node.matchIndexOf(peers.get(i)));
        }
    }

    /** Any thread: a call was refused for backpressure. */
    void busy() {
        busyRejections.increment(1);
    }

    /** Apply thread: a command was seen before and answered from the session table. */
    void duplicateCommand() {
        duplicateCommands.increment(1);
    }

    /** Storage thread: a group of {@code entries} became durable; it started at {@code startNanos}. */
    void synced(long startNanos, int entries) {
        fsyncLatency.record(now() - startNanos);
        storageBatch.record(entries);
    }

    /** Apply thread: one entry was applied; the call started at {@code startNanos}. */
    void applied(long startNanos) {
        applyLatency.record(now() - startNanos);
    }

    /** Apply thread: a batch of {@code entries} committed entries was applied. */
    void appliedBatch(int entries) {
        applies.increment(entries);
        applyBatch.record(entries);
    }

    private static long roleNumber(Role role) {
        return switch (role) {
            case FOLLOWER -> 0;
            case PRE_CANDIDATE -> 1;
            case CANDIDATE -> 2;
            case LEADER -> 3;
        };
    }
}
