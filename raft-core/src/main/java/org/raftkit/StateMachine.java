package org.raftkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The application's replicated state. Every node runs its own copy and applies the same committed
 * commands in the same order, so every copy goes through the same states (§5, "replicated state
 * machine").
 *
 * <h2>Threads</h2>
 * Every method is called on the node's apply thread only ({@code raftkit-<id>-apply}), never
 * concurrently, so an implementation needs no locking of its own. A slow method delays later
 * applies and reads on this node, but never heartbeats or elections: those run on other threads.
 *
 * <h2>Determinism</h2>
 * {@link #apply} must be deterministic: the same commands in the same order must give the same
 * state and results on every node, after every restart. No clocks, random numbers, environment or
 * iteration over unordered hash structures that influence the state.
 *
 * <h2>Failure</h2>
 * An exception thrown by {@link #apply} means the copies may now differ, so the node stops
 * (fail-stop): the proposer's future fails with {@link StateMachineException}, every other pending
 * call with {@link ServerClosedException}, and the node no longer takes part in the cluster. An
 * exception thrown by {@link #query} fails only that read, with {@link StateMachineException}.
 *
 * <h2>Restart</h2>
 * A node starts with an empty state machine, restores the newest snapshot if there is one, and
 * applies the log after it once it learns the commit index from the leader.
 */
public interface StateMachine {

    /**
     * Applies one committed command, in log order, deterministically. Called on the apply thread.
     *
     * @param index   the command's log index; strictly increasing from call to call
     * @param command the bytes given to {@code RaftServer.submit}; must not be modified
     * @return the result handed to the proposer's future (null is treated as an empty array)
     */
    byte[] apply(long index, byte[] command);

    /**
     * Answers a read-only query on the current state. Called on the apply thread, once the read is
     * safe: for a linearizable read, after every write acknowledged before the read began has been
     * applied. Must not change the state.
     *
     * @param query the bytes given to {@code RaftServer.read} or {@code staleRead}
     * @return the answer (null is treated as an empty array)
     */
    byte[] query(byte[] query);

    /**
     * Captures the state as of the last applied command, for a snapshot; or returns null if this
     * state machine takes no snapshots (the default: the log is then never compacted, and a node
     * that has fallen behind a compacted log cannot be caught up). Called on the apply thread,
     * between two applies: it must be cheap (a copy-on-write reference, an immutable view, a
     * storage engine's checkpoint), because applies wait while it runs. The returned object's
     * {@link Snapshot#writeTo} then runs on another thread while applies go on, so it must not
     * read the live state.
     */
    default Snapshot snapshot() {
        return null;
    }

    /**
     * Replaces the whole state with one written by {@link Snapshot#writeTo}, on a node starting
     * from a snapshot or installing one from the leader. Called on the apply thread. An exception
     * stops the node (fail-stop): its state would be unknown.
     *
     * @throws IOException if reading from {@code in} fails
     */
    default void restore(InputStream in) throws IOException {
        throw new UnsupportedOperationException(getClass().getName() + " does not support snapshots");
    }

    /** A point-in-time view of the state, captured by {@link StateMachine#snapshot()}. */
    interface Snapshot {

        /**
         * Writes the captured state. Called once, on the runtime's snapshot thread, concurrently
         * with later applies. An exception fails this snapshot only; the runtime tries again later.
         *
         * @throws IOException if writing to {@code out} fails
         */
        void writeTo(OutputStream out) throws IOException;

        /** Frees what the view holds. Called once, after {@link #writeTo} or when it is abandoned. */
        default void release() {
        }
    }
}
