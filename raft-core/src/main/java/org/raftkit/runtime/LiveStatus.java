package org.raftkit.runtime;

import java.util.List;

import org.raftkit.ClusterConfiguration;
import org.raftkit.RaftStatus;
import org.raftkit.Role;
import org.raftkit.core.Configuration;

/**
 * What {@code RaftServer.status()} reports, published by the threads that own each value (the Raft
 * thread, the apply thread) through volatile fields, so any thread can read it without stopping
 * the node.
 */
final class LiveStatus {

    private final String id;
    /** The voters of {@link #configuration}, as {@code RaftStatus.members} reports them. */
    private volatile List<String> members;
    /** The configuration in use (thesis §4.1), published by the Raft thread whenever it changes. */
    private volatile ClusterConfiguration configuration;

    volatile Role role = Role.FOLLOWER;
    volatile long term;
    /** The leader of {@link #term}, or null. */
    volatile String leaderId;
    /** The last leader this node knew of, in any term; for {@code NotLeaderException} hints. */
    volatile String lastKnownLeader;
    volatile long commitIndex;
    volatile long lastIndex;
    volatile long appliedIndex;
    /** Last included index of the newest snapshot this node holds. */
    volatile long snapshotIndex;
    /** First index the log holds. */
    volatile long firstLogIndex = 1;
    /** While a snapshot arrives from the leader: bytes of it received so far; else 0. */
    volatile long snapshotReceivedBytes;

    LiveStatus(String id, ClusterConfiguration configuration) {
        this.id = id;
        configuration(configuration.index(), configuration.configuration());
    }

    /** For tests: a status whose configuration is these voters, at index 0. */
    LiveStatus(String id, List<String> voters) {
        this(id, new ClusterConfiguration(0, Configuration.ofVoters(voters)));
    }

    /** The configuration in use changed; Raft thread. */
    void configuration(long index, Configuration c) {
        this.members = List.copyOf(c.allVoters());
        this.configuration = new ClusterConfiguration(index, c);
    }

    /** The configuration in use; any thread. */
    ClusterConfiguration configuration() {
        return configuration;
    }

    /** The status in {@code state}; {@code failure} is reported only with FAILED. */
    RaftStatus snapshot(RaftStatus.State state, Throwable failure) {
        return new RaftStatus(id, role, term, leaderId, commitIndex, appliedIndex, lastIndex, members, state,
                state == RaftStatus.State.FAILED ? failure : null, snapshotIndex, firstLogIndex, snapshotReceivedBytes);
    }

    /** The best leader hint: the current leader, or the last one known. */
    String leaderHint() {
        String current = leaderId;
        return current != null ? current : lastKnownLeader;
    }
}
