package org.raftkit;

import java.util.List;

/**
 * A snapshot of one node's state, for monitoring. Values are read without stopping the node, so
 * they are each current but not necessarily from the same instant.
 *
 * @param id           this node's id
 * @param role         this node's role
 * @param term         this node's currentTerm
 * @param leaderId     the leader this node knows for {@code term}, or null
 * @param commitIndex  highest log index this node knows to be committed
 * @param appliedIndex highest log index applied to this node's state machine
 * @param lastLogIndex index of the last entry in this node's log
 * @param members      every voting member, including this node
 * @param state        where the server is in its lifecycle
 * @param failure      when {@code state} is {@link State#FAILED}, the error that stopped the node
 *                     (never null then); otherwise null
 */
public record RaftStatus(String id, Role role, long term, String leaderId, long commitIndex, long appliedIndex,
                         long lastLogIndex, List<String> members, State state, Throwable failure) {

    /** Lifecycle of a {@link RaftServer}. */
    public enum State {
        /** Built, not started. */
        NEW,
        /** Started and taking part in the cluster. */
        RUNNING,
        /** Stopped by a fatal error (fail-stop); see {@link RaftListener#onFailure}. */
        FAILED,
        /** Closed. */
        CLOSED
    }

    /** Copies {@code members} so the status stays as it was taken. */
    public RaftStatus {
        members = List.copyOf(members);
    }

    /** Whether this node is the leader. */
    public boolean isLeader() {
        return role == Role.LEADER;
    }
}
