package org.raftkit.runtime;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import org.raftkit.NotLeaderException;
import org.raftkit.RaftException;
import org.raftkit.ServerBusyException;
import org.raftkit.UnknownOutcomeException;

/**
 * One client call in flight on this node: a local {@code submit}/{@code read}/{@code staleRead}
 * ({@link LocalRequest}), or a call another node forwarded to this one as leader
 * ({@link RemoteRequest}).
 *
 * <p>It finishes exactly once, whichever thread gets there first (the apply thread with a result,
 * the Raft thread with a timeout, a closing thread): {@link #complete} and {@link #fail} race
 * safely, and the first one returns the request's share of the {@link RequestBudget}.
 *
 * <p>The fields below {@link #deadlineNanos} belong to the Raft thread, except that it sets
 * {@link #index}, {@link #term} and {@link #readIndex} before handing the request to the apply
 * thread (the hand-over queue publishes them).
 */
abstract class Request {

    /** What the call asks for. */
    enum Kind {
        /** Replicate and apply a command. */
        WRITE,
        /** A linearizable query (ReadIndex, thesis §6.4). */
        READ,
        /** A query on the local state machine, without any freshness guarantee. */
        STALE_READ
    }

    /** Where the Raft thread has put the call; decides how it fails when its time is up. */
    enum Stage {
        QUEUED,
        /** No leader known yet; nothing was sent or appended. */
        WAITING_FOR_LEADER,
        /** Sent to the leader as a {@code ClientRequest}. */
        FORWARDED,
        /** Appended to this leader's log at {@link #index} in {@link #term}. */
        PROPOSED,
        /** Waiting in the core for a read index. */
        READING,
        /** With the apply thread. */
        APPLYING
    }

    private static final VarHandle FINISHED;

    static {
        try {
            FINISHED = MethodHandles.lookup().findVarHandle(Request.class, "finished", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Kind kind;
    /** The command or query; shared, never copied. */
    final byte[] payload;
    /** {@code System.nanoTime()} after which the call fails as timed out. */
    final long deadlineNanos;
    private final RequestBudget budget;
    /** Set once, through {@link #FINISHED}. */
    private volatile boolean finished;

    /**
     * Raft thread: unique among this node's calls, in this and every other incarnation of the node
     * (ids start at random), used as ReadIndex context and forwarding id.
     */
    long id;
    /** Raft thread. */
    Stage stage = Stage.QUEUED;
    /** Raft thread: while {@link Stage#FORWARDED}, the node it was sent to (the only one whose reply counts). */
    String sentTo;
    /** Raft thread: how often the call was sent to a leader or retried after a failed read. */
    int attempts;
    /** Raft thread: while {@link Stage#WAITING_FOR_LEADER}, when to give up waiting. */
    long leaderWaitUntilNanos;
    /** Writes: the log index and term the entry was proposed at. */
    long index;
    long term;
    /** Reads: the index the state machine must reach before the query runs. */
    long readIndex;
    /**
     * Writes, Raft thread (published to the apply loop with the hand-over): a copy of this call
     * was sent to a leader that may have appended it, and then sent again elsewhere without an
     * answer (failover). From then on no single attempt's "not appended" answer says the write did
     * not happen: the earlier copy may still be committed, so such failures become unknown outcomes.
     */
    boolean copyAbandoned;
    /** Stale reads: how many committed entries this node may lack; -1 for no bound. Set before queuing. */
    long maxLagEntries = -1;
    /** A read that may be answered under the leader's lease (thesis §6.4.1). */
    boolean lease;
    /** A write that registers a session ({@code REGISTER_SESSION}) instead of carrying a command. */
    boolean registration;
    /** A write sampled by the {@link CommandTrace}, set before the call is queued; null when not traced. */
    CommandTrace.Sample sample;

    Request(Kind kind, byte[] payload, long deadlineNanos, RequestBudget budget) {
        this.kind = kind;
        this.payload = payload;
        this.deadlineNanos = deadlineNanos;
        this.budget = budget;
    }

    /** Whether the call has finished (successfully or not). */
    final boolean isFinished() {
        return (boolean) FINISHED.getVolatile(this);
    }

    /** Finishes the call with a result, unless it has already finished. */
    final void complete(byte[] result) {
        if (tryFinish()) {
            CommandTrace.Sample traced = sample;
            if (traced != null) {
                traced.applied();
            }
            onSuccess(result == null ? RemoteRequest.EMPTY : result);
            if (traced != null) {
                traced.replied();
            }
        }
    }

    /**
     * Finishes the call with a failure, unless it has already finished. A write whose earlier copy
     * was abandoned ({@link #copyAbandoned}) never fails as "nothing happened" ({@link NotLeaderException},
     * {@link ServerBusyException}): that was only true of the last copy.
     */
    final void fail(RaftException failure) {
        if (tryFinish()) {
            if (kind == Kind.WRITE && copyAbandoned
                    && (failure instanceof NotLeaderException || failure instanceof ServerBusyException)) {
                failure = new UnknownOutcomeException(failure.getMessage() + "; but a copy of this write sent to "
                        + "an earlier leader may still be applied");
            }
            if (sample != null) {
                sample.abandon();
            }
            onFailure(failure);
        }
    }

    /** Whether the call may be sent on to a leader (only calls made on this node are). */
    abstract boolean forwardable();

    abstract void onSuccess(byte[] result);

    abstract void onFailure(RaftException failure);

    private boolean tryFinish() {
        if (FINISHED.compareAndSet(this, false, true)) {
            budget.release(payload.length);
            return true;
        }
        return false;
    }
}
