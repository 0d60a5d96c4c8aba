package org.raftkit;

import java.util.List;
import java.util.Objects;
import java.util.Set;

import org.raftkit.core.Configuration;
import org.raftkit.core.Configuration.Kind;
import org.raftkit.core.Configuration.Member;

/**
 * The cluster's membership as one node sees it (thesis §4.1): the latest configuration in its log,
 * committed or not, and the index of the entry that holds it. What {@link RaftServer#configuration()}
 * returns and what a completed {@link RaftServer#changeMembership} completes with.
 *
 * @param index         the index of the log entry holding the configuration (the snapshot's index,
 *                      or 0, when it came with a snapshot or the bootstrap); pass it as the
 *                      {@code expectedIndex} of the next change, so that of two racing changes the
 *                      second is refused ({@link MembershipChangeException.Reason#CONFIGURATION_CHANGED})
 * @param configuration the members (C<sub>new</sub>) and, while joint, the outgoing ones (C<sub>old</sub>)
 */
public record ClusterConfiguration(long index, Configuration configuration) {

    /** The configuration of a node that has none yet: it waits to be added. */
    public static final ClusterConfiguration EMPTY = new ClusterConfiguration(0, Configuration.EMPTY);

    public ClusterConfiguration {
        Objects.requireNonNull(configuration, "configuration");
        if (index < 0) {
            throw new IllegalArgumentException("index must not be negative, was " + index);
        }
    }

    /** The members: C<sub>new</sub> while joint, else the only configuration. */
    public List<Member> members() {
        return configuration.members();
    }

    /** Whether a change is half done: the log's latest configuration is C<sub>old,new</sub> (thesis §4.3). */
    public boolean isJoint() {
        return configuration.isJoint();
    }

    /** Every server of either part, each once, with its newest address and kind. */
    public List<Member> allMembers() {
        return configuration.allMembers();
    }

    /** Voter ids of C<sub>new</sub>. */
    public Set<String> voters() {
        return configuration.voters();
    }

    /** The member with this id (C<sub>new</sub> first), or null. */
    public Member member(String id) {
        return configuration.member(id);
    }

    /** Whether {@code id} is a learner of C<sub>new</sub>. */
    public boolean isLearner(String id) {
        Member m = configuration.members().stream().filter(x -> x.id().equals(id)).findFirst().orElse(null);
        return m != null && m.kind() == Kind.LEARNER;
    }
}
