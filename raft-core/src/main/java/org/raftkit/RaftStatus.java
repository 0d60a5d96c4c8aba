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
 * @param snapshotIndex last included index of the newest snapshot this node holds (0 if none)
 * @param firstLogIndex first index of this node's log: the entries it reads and sends start here, and
 *                     those before it are in the snapshot. Once compacted it is the snapshot's
 *                     index less the trailing window (or the index after a snapshot installed from
 *                     the leader), before and after a restart alike; storage that deletes whole
 *                     files may still hold a few entries before it, never read again
 * @param snapshotReceivedBytes while this node receives a snapshot from the leader, the bytes of
 *                     it received so far; otherwise 0
 */
public record RaftStatus(String id, Role role, long term, String leaderId, long commitIndex, long appliedIndex,
                         long lastLogIndex, List<String> members, State state, Throwable failure, long snapshotIndex,
                         long firstLogIndex, long snapshotReceivedBytes) {

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
