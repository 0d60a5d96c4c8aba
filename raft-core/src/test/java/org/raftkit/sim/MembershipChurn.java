package org.raftkit.sim;

import static org.raftkit.sim.Simulation.MILLIS;
import static org.raftkit.sim.Simulation.SECONDS;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.raftkit.Role;
import org.raftkit.core.Configuration;
import org.raftkit.core.Configuration.Kind;
import org.raftkit.core.Configuration.Member;
import org.raftkit.core.LeadershipTransfer;
import org.raftkit.core.Membership;
import org.raftkit.sim.SimCluster.SimNode;
import org.raftkit.sim.SimContext.Event;

/**
 * The membership-churn nemesis (thesis chapter 4, §3.10): while the other faults go on, an
 * operator adds learners, promotes them, removes learners and voters, replaces a voter (the
 * leader too) in one joint change, hands leadership over, and sends a change that names a stale
 * configuration index, which must be refused. A server removed by a committed change is shut down
 * for good a little later (it may campaign meanwhile: it must not disrupt anyone); spares are
 * added at most once each.
 *
 * <p>Every answer is checked against the rules in {@link Membership}: an accepted change is the
 * leader's latest configuration at the index it names; a stale one is refused as
 * {@link Membership.Refusal#CONFIGURATION_CHANGED}. The {@link SafetyChecker} checks the
 * configuration chain and the quorums after every step.
 */
final class MembershipChurn {

    /** Fewer voters than this, and a crash or two under the nemesis would stop every run. */
    private static final int MIN_VOTERS = 3;

    private final SimContext ctx;
    private final SplittableRandom random;
    private final SimCluster cluster;
    private boolean stopped;
    private int accepted;
    private int refused;

    MembershipChurn(SimContext ctx, SimCluster cluster) {
        this.ctx = ctx;
        this.random = ctx.random;
        this.cluster = cluster;
    }

    void start() {
        ctx.schedule(ctx.now() + 300 * MILLIS + random.nextLong(SECONDS), new Next());
    }

    /** No more changes from now on. */
    void stop() {
        stopped = true;
    }

    /** Changes accepted and refused so far, for the trace. */
    String summary() {
        return "membership requests accepted=" + accepted + " refused=" + refused + ", changes committed="
                + cluster.safety().committedChanges();
    }

    /** The operator shuts down every running server a committed configuration no longer has. */
    void retireRemoved() {
        Configuration committed = cluster.safety().committedConfiguration();
        for (String id : cluster.ids()) {
            SimNode n = cluster.node(id);
            if (!n.retired && cluster.safety().wasEverMember(id) && !committed.contains(id)) {
                cluster.retire(n);
            }
        }
    }

    private void churn() {
        if (stopped) {
            return;
        }
        SimNode leader = leader();
        if (leader != null) {
            request(leader);
        }
        // Removed servers run on for a while (they must not disrupt anyone), then go.
        if (random.nextInt(3) == 0) {
            retireRemoved();
        }
        ctx.schedule(ctx.now() + 200 * MILLIS + random.nextLong(2 * SECONDS), new Next());
    }

    private void request(SimNode leader) {
        Configuration c = leader.core.configuration();
        long index = leader.core.configurationIndex();
        Configuration now = c.target();
        List<String> voters = new ArrayList<>(now.voters());
        List<String> learners = new ArrayList<>();
        for (Member m : now.members()) {
            if (m.kind() == Kind.LEARNER) {
                learners.add(m.id());
            }
        }
        List<String> spares = new ArrayList<>();
        for (String id : cluster.ids()) {
            if (!c.contains(id) && !cluster.node(id).retired && !cluster.safety().wasEverMember(id)) {
                spares.add(id);
            }
        }
        int dice = random.nextInt(100);
        String what;
        List<Member> target;
        if (dice < 25 && !spares.isEmpty()) {
            String id = spares.get(random.nextInt(spares.size()));
            what = "add learner " + id;
            target = plus(now.members(), Member.learner(id, "sim:" + id));
        } else if (dice < 45 && !learners.isEmpty()) {
            String id = learners.get(random.nextInt(learners.size()));
            what = "promote " + id;
            target = withKind(now.members(), id, Kind.VOTER);
        } else if (dice < 52 && !learners.isEmpty()) {
            String id = learners.get(random.nextInt(learners.size()));
            what = "remove learner " + id;
            target = minus(now.members(), id);
        } else if (dice < 62 && voters.size() > MIN_VOTERS) {
            String id = random.nextInt(3) == 0 ? leader.id : voters.get(random.nextInt(voters.size()));
            what = "remove voter " + id + (id.equals(leader.id) ? " (the leader)" : "");
            target = minus(now.members(), id);
        } else if (dice < 75 && !learners.isEmpty()) {
            String in = learners.get(random.nextInt(learners.size()));
            String out = random.nextInt(3) == 0 ? leader.id : voters.get(random.nextInt(voters.size()));
            what = "replace " + out + " by " + in + (out.equals(leader.id) ? " (the leader)" : "");
            target = minus(withKind(now.members(), in, Kind.VOTER), out);
        } else if (dice < 90) {
            List<String> others = new ArrayList<>(voters);
            others.remove(leader.id);
            if (others.isEmpty()) {
                return;
            }
            String to = others.get(random.nextInt(others.size()));
            LeadershipTransfer.TransferRequest r = leader.core.transferLeadership(to);
            ctx.note("churn: " + leader.id + " transfer leadership to " + to + ": "
                    + (r.isAccepted() ? "started" : r.refusal()));
            cluster.afterInput(leader);
            return;
        } else if (index > 0) {
            // A request that read an older configuration: another change came first.
            Membership.ChangeResult r = leader.core.proposeConfigurationChange(index - 1, now.members());
            if (r.refusal() != Membership.Refusal.CONFIGURATION_CHANGED
                    && r.refusal() != Membership.Refusal.LEADERSHIP_TRANSFER_IN_PROGRESS) {
                throw new IllegalStateException("a change expecting the configuration at " + (index - 1)
                        + " when the latest is at " + index + " was answered " + r);
            }
            cluster.afterInput(leader);
            return;
        } else {
            return;
        }
        Membership.ChangeResult r = leader.core.proposeConfigurationChange(index, target);
        if (r.isAccepted()) {
            accepted++;
            if (leader.core.configurationIndex() != r.index()) {
                throw new IllegalStateException(leader.id + " accepted a change at " + r.index()
                        + " but its latest configuration is at " + leader.core.configurationIndex());
            }
        } else {
            refused++;
        }
        ctx.note("churn: " + leader.id + " " + what + ": " + (r.isAccepted() ? "accepted at " + r.index()
                : r.refusal() + " (" + r.detail() + ")"));
        if (r.isAccepted() && random.nextBoolean()) {
            eagerSecondChange(leader, r.index(), target);
        }
        cluster.afterInput(leader);
    }

    /**
     * An eager operator sends the next change as soon as the first is accepted, naming the new
     * configuration's index: one change at a time, so it must be refused while the first is in flight.
     */
    private void eagerSecondChange(SimNode leader, long firstIndex, List<Member> first) {
        List<Member> next = new ArrayList<>(first);
        Member learner = null;
        for (Member m : first) {
            if (m.kind() == Kind.LEARNER) {
                learner = m;
            }
        }
        if (learner != null) {
            next.remove(learner); // remove a learner: valid on its own, whatever the first change was
        } else if (first.size() > MIN_VOTERS) {
            next.remove(next.size() - 1);
        } else {
            return;
        }
        Membership.ChangeResult r = leader.core.proposeConfigurationChange(firstIndex, next);
        ctx.note("churn: " + leader.id + " eager second change to " + next + ": " + (r.isAccepted()
                ? "accepted at " + r.index() : r.refusal()));
        if (r.refusal() != Membership.Refusal.CHANGE_IN_PROGRESS) {
            throw new IllegalStateException("a second change while the one at " + firstIndex
                    + " is in flight was answered " + r);
        }
    }

    /** The up, unpaused leader of the highest term, or null. */
    private SimNode leader() {
        SimNode best = null;
        for (String id : cluster.ids()) {
            SimNode n = cluster.node(id);
            if (n.core != null && !n.paused && n.core.role() == Role.LEADER
                    && (best == null || n.core.currentTerm() > best.core.currentTerm())) {
                best = n;
            }
        }
        return best;
    }

    private static List<Member> plus(List<Member> ms, Member m) {
        List<Member> out = new ArrayList<>(ms);
        out.add(m);
        return out;
    }

    private static List<Member> minus(List<Member> ms, String id) {
        List<Member> out = new ArrayList<>(ms);
        out.removeIf(m -> m.id().equals(id));
        return out;
    }

    private static List<Member> withKind(List<Member> ms, String id, Kind kind) {
        List<Member> out = new ArrayList<>();
        for (Member m : ms) {
            out.add(m.id().equals(id) ? m.as(kind) : m);
        }
        return out;
    }

    private final class Next extends Event {
        @Override
        void run() {
            churn();
        }
    }
}
