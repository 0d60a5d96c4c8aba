package org.raftkit.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.raftkit.Role;
import org.raftkit.core.Configuration.Kind;
import org.raftkit.core.Configuration.Member;
import org.raftkit.message.Entry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster membership changes (thesis chapter 4): the rules a leader follows to change the
 * configuration, and what every server does with the configurations in its log.
 *
 * <h2>The rules</h2>
 * <ol>
 *   <li>Configurations live in the log (thesis §4.1). A server uses the latest configuration in
 *       its log, committed or not, from the moment it is appended; if that entry is truncated it
 *       goes back to the one before ({@link ConfigurationHistory}). A snapshot carries the
 *       configuration at its index.</li>
 *   <li>Joint consensus (thesis §4.3). A change from C<sub>old</sub> to C<sub>new</sub> appends
 *       C<sub>old,new</sub>; while it is the latest configuration, elections and commitment need a
 *       majority of C<sub>old</sub> and a majority of C<sub>new</sub> ({@link Quorum}). Once it
 *       commits, the leader appends C<sub>new</sub>; once that commits the change is done. A change
 *       that moves no voter (learners only, or addresses) changes no quorum, so it appends
 *       C<sub>new</sub> directly.</li>
 *   <li>One change at a time: a change is refused while the latest configuration is joint or not
 *       yet committed, and it names the index of the configuration it expects to change, so two
 *       administrators cannot race ({@link Refusal#CONFIGURATION_CHANGED}).</li>
 *   <li>A leader changes the configuration only after it has committed an entry of its own term
 *       (its no-op). Its commit index may be stale until then: a configuration it believes committed
 *       may be about to be replaced by one from an earlier leader. The single-server change bug
 *       reported on raft-dev in 2015 is this rule missing.</li>
 *   <li>Learners receive the log and snapshots but never vote, campaign, or count in a quorum. A
 *       new voter must first be a learner whose matchIndex is within
 *       {@code RaftConfig.maxPromotionLagEntries} of the leader's last index, and has acknowledged at
 *       least one entry, so adding it does not stall commitment while it catches up (thesis §4.2.1).</li>
 *   <li>A server that is not a voter in its latest configuration (a learner, a removed server, a
 *       server waiting to be added) does not campaign: its election timer fires and is ignored. A
 *       leader that is not a voter of C<sub>new</sub> goes on leading until C<sub>new</sub>
 *       commits, not counting itself in C<sub>new</sub>'s majorities, then steps down (thesis
 *       §4.2.2).</li>
 *   <li>A removed server that never learned it was removed times out and campaigns; the servers
 *       that hear from a leader ignore its requests for the minimum election timeout (thesis
 *       §4.2.3, {@code Election.inLeaderLease}, on when PreVote or CheckQuorum is on), so it cannot
 *       depose the leader.</li>
 * </ol>
 */
public final class Membership {

    private static final Logger LOG = LoggerFactory.getLogger(Membership.class);

    /** Why {@link RaftNode#proposeConfigurationChange} refused a change. Nothing was appended. */
    public enum Refusal {
        /** This node is not the leader. */
        NOT_LEADER,
        /** The leader is handing leadership over (thesis §3.10) and takes no proposals meanwhile. */
        LEADERSHIP_TRANSFER_IN_PROGRESS,
        /** The leader has not yet committed an entry of its own term; retry shortly. */
        NO_COMMIT_IN_TERM_YET,
        /** The latest configuration's index is not the one the request expected: another change came first. */
        CONFIGURATION_CHANGED,
        /** A change is in flight (the latest configuration is joint or uncommitted); retry once it is done. */
        CHANGE_IN_PROGRESS,
        /** The requested configuration is the current one. */
        UNCHANGED,
        /** The requested configuration is not valid: no voter, an id twice, an empty id. */
        INVALID_CONFIGURATION,
        /** A new voter is not a learner within {@code maxPromotionLagEntries} of the leader's last index. */
        LEARNER_NOT_CAUGHT_UP
    }

    /**
     * The answer to a change request.
     *
     * @param refusal null if the change was accepted, else why not
     * @param index   when accepted, the index of the configuration entry appended (C<sub>old,new</sub>,
     *                or C<sub>new</sub> for a change that moves no voter); the change is done when
     *                {@link Ready.MembershipNews#changesCompleted()} reports this index
     * @param detail  a human-readable explanation of a refusal, else empty
     */
    public record ChangeResult(Refusal refusal, long index, String detail) {
        static ChangeResult accepted(long index) {
            return new ChangeResult(null, index, "");
        }

        static ChangeResult refused(Refusal refusal, String detail) {
            return new ChangeResult(refusal, 0, detail);
        }

        /** Whether the change was accepted. */
        public boolean isAccepted() {
            return refusal == null;
        }
    }

    /**
     * A change this leader saw through: C<sub>new</sub> is committed.
     *
     * @param requestIndex  the index {@link ChangeResult#index()} returned for it (the first entry of the change)
     * @param index         the index of the committed C<sub>new</sub>
     * @param configuration C<sub>new</sub>
     */
    public record ChangeCompleted(long requestIndex, long index, Configuration configuration) {
    }

    private final RaftNode node;

    /** Leader: the index of the first entry of the change under way that is ours to report, or 0. */
    private long requestIndex;

    /** Changes completed since the last ready(). */
    final List<ChangeCompleted> completed = new ArrayList<>();

    Membership(RaftNode node) {
        this.node = node;
    }

    /** The configuration this node uses: the latest in its log, committed or not (thesis §4.1). */
    Configuration current() {
        return node.log.configurations().latest();
    }

    /** Whether this node may start an election: it is a voter of its latest configuration. */
    boolean canCampaign() {
        return current().isVoter(node.id);
    }

    // ---------------------------------------------------------------------------------------------
    // Leader: starting a change
    // ---------------------------------------------------------------------------------------------

    ChangeResult propose(long expectedIndex, List<Member> target) {
        if (node.role != Role.LEADER) {
            return ChangeResult.refused(Refusal.NOT_LEADER, node.id + " is not the leader");
        }
        if (node.transfer != null) {
            return ChangeResult.refused(Refusal.LEADERSHIP_TRANSFER_IN_PROGRESS,
                    "handing leadership to " + node.transfer.target());
        }
        ConfigurationHistory history = node.log.configurations();
        long latestIndex = history.latestIndex();
        if (expectedIndex != latestIndex) {
            return ChangeResult.refused(Refusal.CONFIGURATION_CHANGED, "expected the configuration at index "
                    + expectedIndex + " but the latest is at " + latestIndex + ": " + history.latest());
        }
        // Rule 4: only once the leader has committed an entry of its own term.
        if (node.log.term(node.log.commitIndex()) != node.currentTerm) {
            return ChangeResult.refused(Refusal.NO_COMMIT_IN_TERM_YET, "the leader of term " + node.currentTerm
                    + " has not committed an entry of its term yet");
        }
        // Rule 3: one change at a time.
        Configuration current = history.latest();
        if (current.isJoint() || latestIndex > node.log.commitIndex()) {
            return ChangeResult.refused(Refusal.CHANGE_IN_PROGRESS, "the configuration at index " + latestIndex
                    + " is " + (current.isJoint() ? "joint" : "not committed yet") + ": " + current);
        }
        Configuration next;
        try {
            next = Configuration.of(Objects.requireNonNull(target, "target"));
        } catch (IllegalArgumentException e) {
            return ChangeResult.refused(Refusal.INVALID_CONFIGURATION, e.getMessage());
        }
        if (next.voters().isEmpty()) {
            return ChangeResult.refused(Refusal.INVALID_CONFIGURATION, "no voter in " + next);
        }
        if (next.equals(current)) {
            return ChangeResult.refused(Refusal.UNCHANGED, "already " + current);
        }
        // Rule 5: a new voter must be a learner that has caught up.
        long last = node.log.lastIndex();
        for (String v : next.voters()) {
            if (current.voters().contains(v)) {
                continue;
            }
            Member was = current.member(v);
            Progress pr = node.leader.progress(v);
            if (was == null || was.kind() != Kind.LEARNER || pr == null) {
                return ChangeResult.refused(Refusal.LEARNER_NOT_CAUGHT_UP, v
                        + " is not a learner yet: add it as one and promote it once it has caught up");
            }
            if (pr.matchIndex == 0) {
                // Within the lag of a young log, a learner that never answered would pass the test
                // below; a voter that cannot be reached only lowers the cluster's fault tolerance.
                return ChangeResult.refused(Refusal.LEARNER_NOT_CAUGHT_UP, v + " has not acknowledged any entry yet");
            }
            if (last - pr.matchIndex > node.config.maxPromotionLagEntries()) {
                return ChangeResult.refused(Refusal.LEARNER_NOT_CAUGHT_UP, v + " holds entries up to "
                        + pr.matchIndex + ", more than " + node.config.maxPromotionLagEntries()
                        + " behind the leader's last index " + last);
            }
        }
        // Rule 2: joint consensus when voters move; a change of learners alone needs none.
        Configuration toAppend = next.voters().equals(current.voters()) ? next : current.jointWith(next);
        long index = append(toAppend);
        requestIndex = index;
        LOG.info("{} started a configuration change at index {}: {} -> {}", node.id, index, current, next);
        return ChangeResult.accepted(index);
    }

    /** Appends a configuration entry as leader and starts replicating to its new members. */
    private long append(Configuration c) {
        long index = node.log.lastIndex() + 1;
        node.log.append(Entry.configuration(index, node.currentTerm, c.encode()));
        node.leader.trackMembers(c, index);
        node.replication.entriesAppended();
        return index;
    }

    // ---------------------------------------------------------------------------------------------
    // Leader: seeing a change through
    // ---------------------------------------------------------------------------------------------

    /**
     * The leader's commit index advanced. Once C<sub>old,new</sub> is committed, append
     * C<sub>new</sub> (whichever leader started the change: a new leader finishes it); once
     * C<sub>new</sub> is committed, the change is done, and a leader that is not one of its voters
     * steps down (rule 6).
     */
    void onCommitAdvanced() {
        if (node.role != Role.LEADER) {
            return;
        }
        ConfigurationHistory history = node.log.configurations();
        long latestIndex = history.latestIndex();
        if (latestIndex > node.log.commitIndex()) {
            return;
        }
        Configuration latest = history.latest();
        if (latest.isJoint()) {
            Configuration target = latest.target();
            long index = append(target);
            LOG.info("{} appended C_new at index {} (C_old,new at {} is committed): {}", node.id, index, latestIndex,
                    target);
            if (requestIndex == 0) {
                requestIndex = latestIndex; // finishing a change an earlier leader started
            }
            return;
        }
        node.leader.dropNonMembers(latest);
        if (requestIndex != 0) {
            completed.add(new ChangeCompleted(requestIndex, latestIndex, latest));
            LOG.info("{} completed the configuration change at index {}: {}", node.id, latestIndex, latest);
            requestIndex = 0;
        }
        if (!latest.isVoter(node.id)) {
            LOG.info("{} stepped down at term {} (not a voter of the committed configuration {})", node.id,
                    node.currentTerm, latest);
            node.becomeFollower(node.currentTerm, null);
        }
    }

    /** A new leader: no change of its own is under way yet. */
    void onBecameLeader() {
        requestIndex = 0;
    }

    // ---------------------------------------------------------------------------------------------
    // Invariants
    // ---------------------------------------------------------------------------------------------

    void checkInvariants() {
        ConfigurationHistory history = node.log.configurations();
        history.checkInvariants(node.log.lastIndex());
        if ((node.role == Role.CANDIDATE || node.role == Role.PRE_CANDIDATE) && !canCampaign()) {
            throw new IllegalStateException(node.id + ": " + node.role + " but not a voter of " + current());
        }
        if (node.role == Role.LEADER) {
            // One change at a time: this leader appended at most one configuration it has not seen
            // committed. (Entries of earlier leaders may be above its commit index too: C_old,new
            // and C_new both, when the last leader died just after appending C_new.)
            if (history.countAbove(node.log.commitIndex(), node.currentTerm, node.log::term) > 1) {
                throw new IllegalStateException(node.id + ": more than one configuration change in flight: "
                        + history);
            }
            long latestIndex = history.latestIndex();
            Configuration previous = latestIndex > node.log.commitIndex()
                    ? history.at(latestIndex - 1).configuration() : null;
            node.leader.checkMembers(current(), previous);
        }
    }
}
