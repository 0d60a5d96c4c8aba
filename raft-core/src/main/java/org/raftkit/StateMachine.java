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
 * Until snapshots exist, a node starts with an empty state machine and re-applies its whole log
 * from index 1 once it learns the commit index from the leader.
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
     * Writes a snapshot of the state as of the last applied index. Called on the apply thread.
     * Not used yet (snapshots are a later feature); the default refuses.
     *
     * @throws IOException if writing to {@code out} fails
     */
    default void snapshot(OutputStream out) throws IOException {
        throw new UnsupportedOperationException(getClass().getName() + " does not support snapshots");
    }

    /**
     * Replaces the state with one written by {@link #snapshot}. Called on the apply thread. Not used
     * yet (snapshots are a later feature); the default refuses.
     *
     * @throws IOException if reading from {@code in} fails
     */
    default void restore(InputStream in) throws IOException {
        throw new UnsupportedOperationException(getClass().getName() + " does not support snapshots");
    }
}
