package org.raftkit.runtime;

/**
 * Stops the node after a fatal error (a storage exception, a state machine exception while
 * applying, a broken core invariant). Implemented by {@link RaftRuntime}; called by the thread that
 * saw the error, which then ends itself.
 */
@FunctionalInterface
interface FailStop {

    /**
     * Marks the node failed (first call only), wakes the Raft thread to fail every pending call and
     * stop the other threads, and tells the listener.
     *
     * @param where which part failed, for the log line
     * @param cause the error
     */
    void failStop(String where, Throwable cause);
}
