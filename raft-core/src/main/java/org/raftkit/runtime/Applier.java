package org.raftkit.runtime;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.raftkit.NotLeaderException;
import org.raftkit.StateMachine;
import org.raftkit.SessionExpiredException;
import org.raftkit.StateMachineException;
import org.raftkit.UnknownOutcomeException;
import org.raftkit.message.Entry;
import org.raftkit.core.Configuration;
import org.raftkit.message.EntryType;
import org.raftkit.spi.Scheduler;
import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;

/**
 * The apply loop ({@code raftkit-<id>-apply}): the only caller of the {@link StateMachine}. Each
 * {@link #step()} handles what is queued now; the {@link Scheduler} runs the steps (a thread in
 * production).
 *
 * <p>Takes, FIFO from the Raft thread:
 * <ul>
 *   <li>a write this node proposed as leader (a {@link Request} with its index and term): kept
 *       until its index is applied. A node that leads again may propose at an index where it
 *       proposed before, in an older term; both wait, because the older entry may still survive on
 *       another node and be committed (Figure 8): only the entry applied at that index says which
 *       one won;</li>
 *   <li>committed entries (Ready step 4): applied in order; a proposer's call completes with the
 *       state machine's result if the applied entry is the one it proposed (same term), and fails
 *       with {@link NotLeaderException} if another leader's entry replaced it (nothing of it was
 *       applied, so it is safe to retry). Then {@link Inbox.Applied} goes back to the Raft thread;</li>
 *   <li>a read with its read index (Ready step 5): queried once the applied index reaches it;</li>
 *   <li>a stale read: queried at once.</li>
 * </ul>
 * Because the Raft thread hands a proposal over before the entry can commit, and the queue is FIFO,
 * the proposal is always known here before its entry is applied.
 *
 * <h2>Failure</h2>
 * An exception from {@link StateMachine#apply} means this node's copy may now differ from the
 * others' (the machine is not deterministic, or is broken): the proposer's call fails with
 * {@link StateMachineException} and the node stops (fail-stop). An exception from
 * {@link StateMachine#query} fails only that read.
 */
final class Applier {

    /** A batch of committed entries to apply, in index order. */
    private record Committed(List<Entry> entries) {
    }

    /** Capture the state for a snapshot, and hand it to the snapshot loop. */
    private record Capture() {
    }

    /** Replace the state with the snapshot's (at start, or installing one from the leader), read from {@code state}. */
    private record Restore(SnapshotInfo info, java.io.InputStream state) {
    }

    private final String nodeId;
    private final StateMachine stateMachine;
    private final Inbox raftInbox;
    private final LiveStatus status;
    private final FailStop failStop;
    private final RuntimeMetrics metrics;
    private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
    private final LoopHandle loop = new LoopHandle();
    private volatile boolean stopping;

    /** Writes this node proposed, lowest index first (then oldest term), waiting for their index to be applied. */
    private final PriorityQueue<Request> proposals = new PriorityQueue<>(
            Comparator.<Request>comparingLong(r -> r.index).thenComparingLong(r -> r.term));
    /** Reads waiting for the applied index to reach their read index, lowest first. */
    private final PriorityQueue<Request> reads = new PriorityQueue<>(Comparator.comparingLong(r -> r.readIndex));
    private long appliedIndex;
    /** Term of the entry at appliedIndex (for the snapshot taken there). */
    private long appliedTerm;
    /** The configuration in force at appliedIndex (thesis §4.1), which a snapshot taken there carries. */
    private Configuration appliedConfiguration = Configuration.EMPTY;
    private SnapshotStore snapshotStore;
    private SnapshotLoop snapshotLoop;
    /** Client sessions (thesis §6.3): part of the replicated state, applied with it and in its snapshots. */
    private final Sessions sessions = new Sessions(Sessions.MAX_BYTES, Sessions.EXPIRY_ENTRIES);

    /**
     * @param appliedIndex what the state machine holds at start: the log index before the first
     *                     entry to apply
     */
    Applier(String nodeId, StateMachine stateMachine, long appliedIndex, Inbox raftInbox, LiveStatus status,
            FailStop failStop, RuntimeMetrics metrics) {
        this.metrics = metrics;
        this.nodeId = nodeId;
        this.stateMachine = stateMachine;
        this.appliedIndex = appliedIndex;
        this.raftInbox = raftInbox;
        this.status = status;
        this.failStop = failStop;
        status.appliedIndex = appliedIndex;
    }

    /** Sets the loop that runs {@link #step()}; once, when the node starts. */
    void bind(Scheduler.Loop loop) {
        this.loop.bind(loop);
    }

    /** The configuration in force at the index the state machine starts from; before the node starts. */
    void configurationAtStart(Configuration configuration) {
        this.appliedConfiguration = configuration;
    }

    /** Where snapshots are read from and handed to; before the node starts, when it takes snapshots. */
    void useSnapshots(SnapshotStore store, SnapshotLoop loop) {
        this.snapshotStore = store;
        this.snapshotLoop = loop;
    }

    /** Captures the state as of the last applied entry for a snapshot; Raft loop. */
    void capture() {
        enqueue(new Capture());
    }

    /** Replaces the state with a snapshot's, before anything queued later is applied; Raft loop or start. */
    void restore(SnapshotInfo info, java.io.InputStream state) {
        enqueue(new Restore(info, state));
    }

    /** Hands over a proposed write, a read with its read index, or a stale read; Raft loop. */
    void submit(Request request) {
        enqueue(request);
    }

    /** Hands over committed entries to apply; Raft loop. */
    void submitCommitted(List<Entry> entries) {
        enqueue(new Committed(entries));
    }

    /** Work waiting for the apply loop; any thread (for metrics). */
    int queued() {
        return queue.size();
    }

    /** Makes the loop apply nothing more after the entry under way; any thread. */
    void stop() {
        stopping = true;
        loop.stop();
    }

    /**
     * One turn: handles everything queued now, in order. Apply loop only.
     *
     * @return when to run again, as {@link Scheduler.Step#run()} says
     */
    long step() {
        try {
            Object work;
            while (!stopping && (work = queue.poll()) != null) {
                if (!handle(work)) {
                    return Scheduler.Step.IDLE;
                }
            }
        } catch (RuntimeException | Error e) {
            stopping = true;
            failStop.failStop("apply", e);
        }
        return Scheduler.Step.IDLE;
    }

    private void enqueue(Object work) {
        queue.add(work);
        loop.wake();
    }

    /** Returns false if the node must stop. */
    private boolean handle(Object work) {
        if (work instanceof Committed c) {
            return apply(c.entries());
        }
        if (work instanceof Capture) {
            captureNow();
            return true;
        }
        if (work instanceof Restore r) {
            return restoreNow(r.info(), r.state());
        }
        Request r = (Request) work;
        if (r.kind == Request.Kind.WRITE) {
            proposals.add(r);
        } else if (r.kind == Request.Kind.STALE_READ || r.readIndex <= appliedIndex) {
            query(r);
        } else {
            reads.add(r);
        }
        return true;
    }

    private boolean apply(List<Entry> entries) {
        for (Entry e : entries) {
            if (stopping) {
                return false;
            }
            byte[] result = null;
            if (e.type() == EntryType.COMMAND || e.type() == EntryType.SESSION_COMMAND) {
                long start = metrics.now();
                try {
                    result = e.type() == EntryType.COMMAND ? stateMachine.apply(e.index(), e.data()) : applySession(e);
                    metrics.applied(start);
                } catch (RuntimeException ex) {
                    StateMachineException failure = new StateMachineException(
                            nodeId + ": state machine threw applying index " + e.index() + ": " + ex, ex);
                    settleProposals(e, null, failure);
                    failStop.failStop("state machine", failure);
                    return false;
                }
            }
            if (e.type() == EntryType.REGISTER_SESSION) {
                result = sessions.register(e.index()); // the session's id, for openSession
            }
            if (e.type() == EntryType.CONFIGURATION) {
                // The state machine skips configurations; a snapshot taken here must carry it.
                appliedConfiguration = Configuration.decode(e.data());
            }
            settleProposals(e, result, null);
            appliedIndex = e.index();
            appliedTerm = e.term();
        }
        status.appliedIndex = appliedIndex;
        metrics.appliedBatch(entries.size());
        raftInbox.postLocal(new Inbox.Applied(appliedIndex));
        while (!reads.isEmpty() && reads.peek().readIndex <= appliedIndex) {
            query(reads.poll());
        }
        return true;
    }

    /**
     * A command with its session: applied unless the session table has seen it, in which case
     * its first result is the answer (thesis §6.3). A payload without a well-formed header never
     * comes from a correct leader (it checks before proposing); every node skips it alike.
     */
    private byte[] applySession(Entry e) {
        Sessions.Header h = Sessions.header(e.data());
        if (h == null) {
            return RemoteRequest.EMPTY;
        }
        Sessions.Outcome seen = sessions.before(e.index(), h);
        if (seen.result() == Sessions.EXPIRED) {
            return Sessions.EXPIRED;
        }
        if (seen.duplicate()) {
            metrics.duplicateCommand();
            return seen.result();
        }
        byte[] result = stateMachine.apply(e.index(), Sessions.command(e.data()));
        sessions.after(h, result);
        return result;
    }

    /**
     * Takes the state machine's point-in-time view (cheap, between two applies) and hands it to the
     * snapshot loop, which writes it while applies go on. A machine that takes no snapshots
     * answers null; the Raft loop then stops asking.
     */
    private void captureNow() {
        StateMachine.Snapshot capture = stateMachine.snapshot();
        if (capture == null) {
            raftInbox.postLocal(new Inbox.SnapshotTaken(null));
            return;
        }
        snapshotLoop.submit(new SnapshotLoop.Write(withSessions(capture, sessions.snapshot()), appliedIndex, appliedTerm,
                appliedConfiguration));
    }

    /** A snapshot body: the session table as of the capture, then the state machine's bytes. */
    private static StateMachine.Snapshot withSessions(StateMachine.Snapshot capture, byte[] table) {
        return new StateMachine.Snapshot() {
            @Override
            public void writeTo(java.io.OutputStream out) throws java.io.IOException {
                out.write(table);
                capture.writeTo(out);
            }

            @Override
            public void release() {
                capture.release();
            }
        };
    }

    /**
     * Replaces the state with the snapshot's (Figure 13 rule 8: "Reset state machine using snapshot
     * contents"). Proposals at or below its index can no longer learn what was applied there:
     * they fail as unknown. Reads waiting for an index it covers are answered. A failure leaves
     * the state unknown, so the node stops.
     */
    private boolean restoreNow(SnapshotInfo info, java.io.InputStream state) {
        try (var in = state) {
            if (info.index() <= appliedIndex) {
                return true; // already past it (a snapshot installed late)
            }
            stateMachine.restore(sessions.restore(in));
        } catch (java.io.IOException | RuntimeException e) {
            failStop.failStop("state machine restore", new StateMachineException(nodeId
                    + ": restoring the snapshot at index " + info.index() + " failed: " + e, e));
            return false;
        }
        appliedIndex = info.index();
        appliedTerm = info.term();
        appliedConfiguration = info.configuration();
        Request r;
        while ((r = proposals.peek()) != null && r.index <= appliedIndex) {
            proposals.poll();
            r.fail(new UnknownOutcomeException("the entry at index " + r.index
                    + " was replaced by a snapshot before it was applied here; it may or may not be applied"));
        }
        status.appliedIndex = appliedIndex;
        raftInbox.postLocal(new Inbox.Applied(appliedIndex));
        while (!reads.isEmpty() && reads.peek().readIndex <= appliedIndex) {
            query(reads.poll());
        }
        return true;
    }

    /**
     * Ends every proposal this node made at the applied entry's index. The one proposed in the
     * entry's term is that entry (Log Matching, §5.3): it gets the result, or {@code failure}. Any
     * other was never committed anywhere, since a committed index holds one entry for ever: nothing
     * of it was applied, so its caller may safely retry.
     */
    private void settleProposals(Entry e, byte[] result, StateMachineException failure) {
        Request r;
        while ((r = proposals.peek()) != null && r.index <= e.index()) {
            proposals.poll();
            if (r.index < e.index()) {
                // Cannot happen: proposals arrive before their entry can commit, and every index is
                // applied. Fail rather than leave the caller waiting for ever.
                r.fail(new UnknownOutcomeException("lost track of the proposal at index " + r.index));
            } else if (r.term != e.term()) {
                r.fail(new NotLeaderException(status.leaderHint(),
                        "another leader's entry was committed at index " + r.index + "; this one was not applied"));
            } else if (failure != null) {
                r.fail(failure);
            } else if (result == Sessions.EXPIRED) {
                r.fail(new SessionExpiredException("session " + Sessions.header(r.payload).clientId()
                        + " is unknown at index " + r.index + " (expired, evicted or never registered); the write was not applied"));
            } else if (result == Sessions.GIVEN_UP) {
                // The client's own floor said it had given this call up; it was not applied.
                // Nobody should still wait for it (ClientSession's invariant); if someone does,
                // success would be a lie.
                r.fail(new UnknownOutcomeException("the command at index " + r.index + " was below its session's "
                        + "floor (given up by its client) and was not applied"));
            } else {
                r.complete(result);
            }
        }
    }

    private void query(Request r) {
        if (r.isFinished()) {
            return; // timed out while waiting: do not spend the state machine's time on it
        }
        byte[] answer;
        try {
            answer = stateMachine.query(r.payload);
        } catch (RuntimeException ex) {
            r.fail(new StateMachineException(nodeId + ": state machine threw answering a query: " + ex, ex));
            return;
        }
        r.complete(answer);
    }
}
