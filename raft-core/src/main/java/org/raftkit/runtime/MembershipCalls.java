package org.raftkit.runtime;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.raftkit.ClusterConfiguration;
import org.raftkit.LeadershipTransferException;
import org.raftkit.MembershipChangeException;
import org.raftkit.MembershipChangeException.Reason;
import org.raftkit.NotLeaderException;
import org.raftkit.RaftException;
import org.raftkit.Role;
import org.raftkit.UnknownOutcomeException;
import org.raftkit.core.Configuration;
import org.raftkit.core.Configuration.Kind;
import org.raftkit.core.Configuration.Member;
import org.raftkit.core.LeadershipTransfer;
import org.raftkit.core.Membership;
import org.raftkit.core.RaftNode;
import org.raftkit.core.Ready;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Membership changes and leadership transfers asked for through {@code RaftServer}, on the Raft
 * loop only: each call is turned into the whole configuration wanted, checked against the
 * configuration in use, handed to {@link RaftNode#proposeConfigurationChange} or
 * {@link RaftNode#transferLeadership}, and completed when the core reports the change done
 * ({@link Ready.MembershipNews#changesCompleted()}) or the transfer ended
 * ({@link Ready.MembershipNews#transfers()}).
 *
 * <ul>
 *   <li>Calls are served by the leader only. Elsewhere they fail at once with
 *       {@link NotLeaderException} naming the leader (not forwarded: an operator's tool retries
 *       at the leader), or with {@link Reason#NOT_A_MEMBER_HERE} on a node outside its own
 *       configuration (removed, or never added), which knows nothing it could safely act on.</li>
 *   <li>A refusal by the core is a {@link MembershipChangeException} with its reason; nothing was
 *       appended.</li>
 *   <li>An accepted change completes with the new configuration once C<sub>new</sub> is committed.
 *       If this node stops leading first, or the change has not completed within
 *       {@code requestTimeoutMillis}, the call fails with {@link UnknownOutcomeException}: the
 *       change may still complete (a new leader finishes a joint change it finds in its log);
 *       read {@code configuration()} to see.</li>
 *   <li>{@code replaceMember} follows thesis §4.2.1 and §4.3: it adds the new server as a learner
 *       (unless it is one already), waits until the learner has caught up (retrying the next step
 *       at every tick while the core answers {@code LEARNER_NOT_CAUGHT_UP}), then promotes it and
 *       removes the old server in one joint change.</li>
 * </ul>
 */
final class MembershipCalls {

    private static final Logger LOG = LoggerFactory.getLogger(MembershipCalls.class);

    /** What a membership call asks for. */
    enum Op {
        /** The whole configuration given, expecting the latest to be at {@code expectedIndex}. */
        CHANGE,
        /** Add {@code id} at {@code address} as a learner. */
        ADD_LEARNER,
        /** Make learner {@code id} a voter. */
        PROMOTE,
        /** Remove {@code id}, whatever its kind. */
        REMOVE,
        /** Add {@code id} as a learner if needed, then in one change make it a voter and remove {@code oldId}. */
        REPLACE
    }

    /**
     * One membership call, queued on the {@link Inbox} by any thread, then owned by the Raft loop.
     *
     * @param op            what it asks for
     * @param expectedIndex {@link Op#CHANGE}: the configuration index the caller read
     * @param members       {@link Op#CHANGE}: the whole configuration wanted
     * @param id            the member concerned (the new one for {@link Op#REPLACE})
     * @param address       {@link Op#ADD_LEARNER}, {@link Op#REPLACE}: its Raft address
     * @param oldId         {@link Op#REPLACE}: the member it replaces
     * @param future        completed with the configuration once the change is committed
     */
    record Call(Op op, long expectedIndex, List<Member> members, String id, String address, String oldId,
                CompletableFuture<ClusterConfiguration> future) {
    }

    /**
     * A leadership transfer, queued like a {@link Call}.
     *
     * @param target the voter to hand leadership to, or null for the most caught-up other voter
     *               (how {@code close()} hands over)
     * @param future completed with the new leader's id
     */
    record Transfer(String target, CompletableFuture<String> future) {
    }

    /** A call the core accepted (or, for REPLACE, one between its steps), until it ends. */
    private static final class Pending {
        final Call call;
        long deadlineNanos;
        /** REPLACE: whether the new server is a learner of a committed configuration, so the final step may go. */
        boolean learnerAdded;

        Pending(Call call, long deadlineNanos) {
            this.call = call;
            this.deadlineNanos = deadlineNanos;
        }
    }

    private final String id;
    private final RaftNode node;
    private final LiveStatus status;
    private final long timeoutNanos;

    /** Accepted changes by the index the core returned, until reported done. */
    private final Map<Long, Pending> accepted = new HashMap<>();
    /** REPLACE calls whose final step waits for the learner to catch up (tried again each tick). */
    private final List<Pending> waitingForCatchUp = new ArrayList<>();
    /** Transfers the core accepted, until their outcome. At most one at a time (the core allows one). */
    private final List<Transfer> transfers = new ArrayList<>();

    MembershipCalls(String id, RaftNode node, LiveStatus status, long timeoutNanos) {
        this.id = id;
        this.node = node;
        this.status = status;
        this.timeoutNanos = timeoutNanos;
    }

    // ---------------------------------------------------------------------------------------------
    // Calls arriving
    // ---------------------------------------------------------------------------------------------

    /** A membership call made on this node. */
    void onCall(Call c, long nowNanos) {
        RaftException refused = refuseHere();
        if (refused != null) {
            c.future().completeExceptionally(refused);
            return;
        }
        Configuration now = node.configuration();
        long index = node.configurationIndex();
        try {
            switch (c.op()) {
                case CHANGE -> propose(new Pending(c, nowNanos + timeoutNanos), c.expectedIndex(), c.members());
                case ADD_LEARNER -> {
                    if (now.contains(c.id())) {
                        throw new MembershipChangeException(Reason.ALREADY_MEMBER, c.id() + " is already a member: "
                                + now.member(c.id()));
                    }
                    propose(new Pending(c, nowNanos + timeoutNanos), index,
                            plus(now.members(), Member.learner(c.id(), c.address())));
                }
                case PROMOTE -> {
                    Member m = requireMember(now, c.id());
                    if (m.kind() != Kind.LEARNER) {
                        throw new MembershipChangeException(Reason.NOT_A_LEARNER, c.id() + " is a " + m.kind()
                                + ", not a learner");
                    }
                    propose(new Pending(c, nowNanos + timeoutNanos), index, withKind(now.members(), c.id(), Kind.VOTER));
                }
                case REMOVE -> {
                    Member m = requireMember(now, c.id());
                    if (m.kind() == Kind.VOTER && now.voters().size() == 1) {
                        throw new MembershipChangeException(Reason.LAST_VOTER, c.id()
                                + " is the last voter; add another voter before removing it");
                    }
                    propose(new Pending(c, nowNanos + timeoutNanos), index, minus(now.members(), c.id()));
                }
                case REPLACE -> replace(new Pending(c, nowNanos + timeoutNanos), now, index);
            }
        } catch (MembershipChangeException e) {
            c.future().completeExceptionally(e);
        }
    }

    /** A transfer asked for on this node. */
    void onTransfer(Transfer t) {
        if (node.role() != Role.LEADER) {
            t.future().completeExceptionally(new NotLeaderException(status.leaderHint(), id
                    + " is not the leader; ask the leader to hand leadership over"));
            return;
        }
        String target = t.target() != null ? t.target() : mostCaughtUpVoter();
        if (target == null) {
            t.future().completeExceptionally(new LeadershipTransferException(
                    LeadershipTransferException.Reason.TARGET_NOT_A_VOTER, id, id + " is the only voter"));
            return;
        }
        LeadershipTransfer.TransferRequest r = node.transferLeadership(target);
        if (r.isAccepted()) {
            transfers.add(new Transfer(target, t.future()));
            return;
        }
        switch (r.refusal()) {
            case NOT_LEADER -> t.future().completeExceptionally(new NotLeaderException(status.leaderHint(), r.detail()));
            case ALREADY_LEADER -> t.future().complete(id);
            case TRANSFER_IN_PROGRESS -> t.future().completeExceptionally(new LeadershipTransferException(
                    LeadershipTransferException.Reason.TRANSFER_IN_PROGRESS, id, r.detail()));
            case TARGET_NOT_A_VOTER -> t.future().completeExceptionally(new LeadershipTransferException(
                    LeadershipTransferException.Reason.TARGET_NOT_A_VOTER, id, r.detail()));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Outputs of the core
    // ---------------------------------------------------------------------------------------------

    /** Changes this leader saw through (C<sub>new</sub> committed). */
    void onCompleted(List<Membership.ChangeCompleted> completed, long nowNanos) {
        for (Membership.ChangeCompleted done : completed) {
            Pending p = accepted.remove(done.requestIndex());
            if (p == null) {
                continue; // a change an earlier leader started, or one whose caller gave up
            }
            ClusterConfiguration c = new ClusterConfiguration(done.index(), done.configuration());
            if (p.call.op() == Op.REPLACE && !p.learnerAdded) {
                p.learnerAdded = true;
                p.deadlineNanos = nowNanos + timeoutNanos; // the catch-up gets its own time
                replaceFinalStep(p);
            } else {
                p.call.future().complete(c);
            }
        }
    }

    /** Transfers this node started that ended. */
    void onTransfers(List<LeadershipTransfer.Outcome> outcomes) {
        for (LeadershipTransfer.Outcome o : outcomes) {
            for (Iterator<Transfer> it = transfers.iterator(); it.hasNext(); ) {
                Transfer t = it.next();
                if (!t.target().equals(o.target())) {
                    continue;
                }
                it.remove();
                switch (o.result()) {
                    case SUCCEEDED -> t.future().complete(o.newLeader());
                    case ANOTHER_LEADER -> t.future().completeExceptionally(new LeadershipTransferException(
                            LeadershipTransferException.Reason.ANOTHER_LEADER, o.newLeader(), o.newLeader()
                            + " became leader instead of " + o.target()));
                    case TIMED_OUT -> t.future().completeExceptionally(new LeadershipTransferException(
                            LeadershipTransferException.Reason.TIMED_OUT, o.newLeader(), o.target()
                            + " did not become leader within an election timeout"));
                    case TARGET_REMOVED -> t.future().completeExceptionally(new LeadershipTransferException(
                            LeadershipTransferException.Reason.TARGET_REMOVED, o.newLeader(), o.target()
                            + " left the configuration"));
                }
            }
        }
    }

    /**
     * The role changed. A change reported done only by the leader that saw it through: once this
     * node no longer leads, nobody will tell it, so its callers learn that the outcome is unknown.
     */
    void onSoftState(Ready.SoftState soft) {
        if (soft.role() == Role.LEADER) {
            return;
        }
        String hint = soft.leaderId() != null ? soft.leaderId() : status.leaderHint();
        for (Pending p : accepted.values()) {
            p.call.future().completeExceptionally(new UnknownOutcomeException(id + " stopped leading while changing "
                    + "membership (leader now " + hint + "); the change may still complete: read the configuration"));
        }
        accepted.clear();
        for (Pending p : waitingForCatchUp) {
            p.call.future().completeExceptionally(new NotLeaderException(hint, id + " stopped leading after adding "
                    + p.call.id() + " as a learner and before promoting it; finish at the leader with promote and remove"));
        }
        waitingForCatchUp.clear();
    }

    // ---------------------------------------------------------------------------------------------
    // Time
    // ---------------------------------------------------------------------------------------------

    /** Retries replacements waiting for their learner, and fails calls past their deadline. Each tick. */
    void onTick(long nowNanos) {
        if (!waitingForCatchUp.isEmpty()) {
            List<Pending> waiting = new ArrayList<>(waitingForCatchUp);
            waitingForCatchUp.clear();
            for (Pending p : waiting) {
                if (p.deadlineNanos - nowNanos <= 0) {
                    p.call.future().completeExceptionally(new MembershipChangeException(Reason.LEARNER_NOT_CAUGHT_UP,
                            p.call.id() + " was added as a learner but did not catch up in time to replace "
                                    + p.call.oldId() + "; promote it and remove " + p.call.oldId() + " later"));
                } else {
                    replaceFinalStep(p);
                }
            }
        }
        for (Iterator<Pending> it = accepted.values().iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (p.deadlineNanos - nowNanos <= 0) {
                it.remove();
                p.call.future().completeExceptionally(new UnknownOutcomeException("the membership change was not "
                        + "committed in time on " + id + "; it may still complete: read the configuration"));
            }
        }
    }

    /** The node is stopping. */
    void failAll(RaftException failure) {
        accepted.values().forEach(p -> p.call.future().completeExceptionally(failure));
        accepted.clear();
        waitingForCatchUp.forEach(p -> p.call.future().completeExceptionally(failure));
        waitingForCatchUp.clear();
        transfers.forEach(t -> t.future().completeExceptionally(failure));
        transfers.clear();
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------

    /** Why this node cannot serve a membership call at all, or null. */
    private RaftException refuseHere() {
        Configuration now = node.configuration();
        if (!now.contains(id)) {
            return new MembershipChangeException(Reason.NOT_A_MEMBER_HERE, id + " is not a member of its "
                    + "configuration " + describe(now) + " (removed, or not added yet); ask a member"
                    + (status.leaderHint() == null ? "" : ", such as " + status.leaderHint()));
        }
        if (node.role() != Role.LEADER) {
            return new NotLeaderException(status.leaderHint(), id + " is not the leader; membership changes go to "
                    + "the leader" + (status.leaderHint() == null ? "" : ", " + status.leaderHint()));
        }
        return null;
    }

    private void propose(Pending p, long expectedIndex, List<Member> members) {
        Membership.ChangeResult r = node.proposeConfigurationChange(expectedIndex, members);
        if (!r.isAccepted()) {
            if (r.refusal() == Membership.Refusal.NOT_LEADER) {
                throw new IllegalStateException(id + ": membership change refused as not leader while leader");
            }
            throw MembershipChangeException.of(r.refusal(), r.detail());
        }
        accepted.put(r.index(), p);
    }

    private void replace(Pending p, Configuration now, long index) {
        Call c = p.call;
        Member old = requireMember(now, c.oldId());
        Member existing = now.member(c.id());
        if (existing != null && existing.kind() == Kind.VOTER) {
            throw new MembershipChangeException(Reason.NOT_A_LEARNER, c.id() + " is a voter already");
        }
        if (old.id().equals(c.id())) {
            throw new MembershipChangeException(Reason.INVALID_CONFIGURATION, "a member cannot replace itself");
        }
        if (existing == null) {
            propose(p, index, plus(now.members(), Member.learner(c.id(), c.address())));
        } else {
            p.learnerAdded = true;
            replaceFinalStep(p);
        }
    }

    /** REPLACE's last step: the caught-up learner becomes a voter and the old server leaves, in one joint change. */
    private void replaceFinalStep(Pending p) {
        Call c = p.call;
        if (node.role() != Role.LEADER) {
            p.call.future().completeExceptionally(new NotLeaderException(status.leaderHint(), id
                    + " stopped leading before promoting " + c.id()));
            return;
        }
        Configuration now = node.configuration();
        if (!now.contains(c.oldId())) {
            c.future().completeExceptionally(new MembershipChangeException(Reason.NOT_A_MEMBER, c.oldId()
                    + " left the configuration while " + c.id() + " caught up"));
            return;
        }
        if (!now.contains(c.id())) {
            // Removed by another call while it caught up: promoting nobody and removing oldId alone
            // would lower the number of voters, which a replacement never does.
            c.future().completeExceptionally(new MembershipChangeException(Reason.NOT_A_MEMBER, c.id()
                    + " left the configuration while it caught up to replace " + c.oldId() + "; nothing was changed"));
            return;
        }
        List<Member> target = minus(withKind(now.members(), c.id(), Kind.VOTER), c.oldId());
        Membership.ChangeResult r = node.proposeConfigurationChange(node.configurationIndex(), target);
        if (r.isAccepted()) {
            accepted.put(r.index(), p);
            LOG.info("{} replaces {} by {} (joint change at index {})", id, c.oldId(), c.id(), r.index());
            return;
        }
        switch (r.refusal()) {
            case LEARNER_NOT_CAUGHT_UP, NO_COMMIT_IN_TERM_YET, CHANGE_IN_PROGRESS -> waitingForCatchUp.add(p);
            default -> c.future().completeExceptionally(MembershipChangeException.of(r.refusal(), r.detail()));
        }
    }

    /** The other voter of C<sub>new</sub> whose log matches the most of this leader's, or null if none. */
    private String mostCaughtUpVoter() {
        String best = null;
        long bestMatch = -1;
        for (String v : node.configuration().voters()) {
            long match = node.matchIndexOf(v);
            if (!v.equals(id) && match > bestMatch) {
                best = v;
                bestMatch = match;
            }
        }
        return best;
    }

    private static Member requireMember(Configuration c, String memberId) {
        Member m = c.members().stream().filter(x -> x.id().equals(memberId)).findFirst().orElse(null);
        if (m == null) {
            throw new MembershipChangeException(Reason.NOT_A_MEMBER, memberId + " is not a member of " + describe(c));
        }
        return m;
    }

    static String describe(Configuration c) {
        StringBuilder s = new StringBuilder("[");
        for (Member m : c.allMembers()) {
            if (s.length() > 1) {
                s.append(", ");
            }
            s.append(m.id()).append(m.kind() == Kind.LEARNER ? " (learner)" : "");
        }
        return s.append(c.isJoint() ? "] (joint)" : "]").toString();
    }

    private static List<Member> plus(List<Member> members, Member added) {
        List<Member> out = new ArrayList<>(members);
        out.add(added);
        return out;
    }

    private static List<Member> minus(List<Member> members, String removed) {
        List<Member> out = new ArrayList<>();
        for (Member m : members) {
            if (!m.id().equals(removed)) {
                out.add(m);
            }
        }
        return out;
    }

    private static List<Member> withKind(List<Member> members, String memberId, Kind kind) {
        List<Member> out = new ArrayList<>();
        for (Member m : members) {
            out.add(m.id().equals(memberId) ? m.as(kind) : m);
        }
        return out;
    }
}
