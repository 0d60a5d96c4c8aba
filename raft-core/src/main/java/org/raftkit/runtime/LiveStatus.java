package org.raftkit.runtime;

import java.util.List;

import org.raftkit.RaftStatus;
import org.raftkit.Role;

/**
 * What {@code RaftServer.status()} reports, published by the threads that own each value (the Raft
 * thread, the apply thread) through volatile fields, so any thread can read it without stopping
 * the node.
 */
final class LiveStatus {

    private final String id;
    private final List<String> members;

    volatile Role role = Role.FOLLOWER;
    volatile long term;
    /** The leader of {@link #term}, or null. */
    volatile String leaderId;
    /** The last leader this node knew of, in any term; for {@code NotLeaderException} hints. */
    volatile String lastKnownLeader;
    volatile long commitIndex;
    volatile long lastIndex;
    volatile long appliedIndex;

    LiveStatus(String id, List<String> members) {
        this.id = id;
        this.members = List.copyOf(members);
    }

    /** The status in {@code state}; {@code failure} is reported only with FAILED. */
    RaftStatus snapshot(RaftStatus.State state, Throwable failure) {
        return new RaftStatus(id, role, term, leaderId, commitIndex, appliedIndex, lastIndex, members, state,
                state == RaftStatus.State.FAILED ? failure : null);
    }

    /** The best leader hint: the current leader, or the last one known. */
    String leaderHint() {
        String current = leaderId;
        return current != null ? current : lastKnownLeader;
    }
}
