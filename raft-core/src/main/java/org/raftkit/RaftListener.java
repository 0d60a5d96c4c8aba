package org.raftkit;

/**
 * Hears about a node's role changes and its failure. Both methods have empty defaults, so an
 * implementation overrides only what it needs. Implementations must be quick and must not block
 * or throw: they run on the node's own threads.
 */
public interface RaftListener {

    /**
     * The node's role, term or known leader changed. Called on the Raft thread, in order; blocking
     * here delays heartbeats and elections.
     *
     * @param role     the node's new role
     * @param term     the node's currentTerm
     * @param leaderId the leader of {@code term} as this node knows it, or null
     */
    default void onRoleChange(Role role, long term, String leaderId) {
    }

    /**
     * The node stopped because of a fatal error (a storage write or sync failed, the state machine
     * threw while applying, or an internal invariant broke). Called once, on the thread that saw the
     * error. The node takes no further part in the cluster; close it and investigate.
     *
     * @param cause what went wrong
     */
    default void onFailure(Throwable cause) {
    }
}
