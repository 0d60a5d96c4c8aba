package org.raftkit.sim;

import static org.raftkit.sim.Simulation.MILLIS;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.raftkit.ClusterConfiguration;
import org.raftkit.LeadershipTransferException;
import org.raftkit.MembershipChangeException;
import org.raftkit.NotLeaderException;
import org.raftkit.RaftServer;
import org.raftkit.ServerClosedException;
import org.raftkit.UnknownOutcomeException;
import org.raftkit.core.Configuration;
import org.raftkit.sim.NodeCluster.Member;
import org.raftkit.sim.SimContext.Event;

/**
 * The operator of {@link NodeMembershipSimulation}: changes the membership of a running cluster
 * through the public {@link RaftServer} API only, as an administration tool would, at seeded random
 * moments of the fault phase. It brings up brand-new servers (built with
 * {@code RaftServer.Builder.join()} on an empty disk) and adds them as learners (thesis §4.2.1),
 * promotes learners, removes voters and learners (the leader too, thesis §4.2.2), replaces a member
 * by a new server, hands leadership to random targets (thesis §3.10), and races two
 * {@code changeMembership} calls read from the same configuration index against each other (at
 * most one may win; the other must be refused with {@link MembershipChangeException}).
 *
 * <p>Every call and its outcome is recorded for the end-of-run checks. Calls go to the node the
 * operator believes leads (a random node when none seems to), so many are refused with
 * {@link NotLeaderException}, as a real tool's first attempt often is. The operator never lets the
 * voters of C<sub>new</sub> drop below three, so the cluster can end with at least three voters.
 */
final class NodeOperator {

    /** A membership call and how it ended. */
    static final class Call {
        final String what;
        final String op;
        final String id;
        final String oldId;
        /** For a CHANGE: the configuration index read, and the members asked for. */
        final long expectedIndex;
        final List<Configuration.Member> members;
        /** Race partner: the other call made from the same read, or null. */
        Call rival;
        final long startedMicros;
        boolean done;
        /** Set when the call completed normally. */
        ClusterConfiguration result;
        String newLeader;
        Throwable failure;

        Call(String op, String id, String oldId, long expectedIndex, List<Configuration.Member> members, long now) {
            this.op = op;
            this.id = id;
            this.oldId = oldId;
            this.expectedIndex = expectedIndex;
            this.members = members;
            this.startedMicros = now;
            this.what = op + (id == null ? "" : " " + id) + (oldId == null ? "" : " (for " + oldId + ")")
                    + (members == null ? "" : " to " + members + " expecting index " + expectedIndex);
        }

        boolean succeeded() {
            return done && failure == null;
        }

        @Override
        public String toString() {
            return what + (done ? (failure == null ? " -> " + (result != null ? result : newLeader) : " -> " + failure)
                    : " (open)");
        }
    }

    private final SimContext ctx;
    private final SplittableRandom random;
    private final NodeCluster cluster;
    /** Ids no node has used yet: each brand-new server takes the next. */
    private final Deque<String> spares;
    /** Ids of servers brought up (initial ones, and new ones once started). */
    final Set<String> brought = new LinkedHashSet<>();
    final List<Call> calls = new ArrayList<>();
    /** A violation found inside a future's callback, thrown from the next event. */
    private String violation;
    private boolean stopped;

    NodeOperator(SimContext ctx, NodeCluster cluster, List<String> initial, List<String> spares) {
        this.ctx = ctx;
        this.random = ctx.random;
        this.cluster = cluster;
        this.spares = new ArrayDeque<>(spares);
        this.brought.addAll(initial);
    }

    void start() {
        ctx.schedule(ctx.now() + 300 * MILLIS + random.nextLong(700 * MILLIS), new Next());
    }

    void stop() {
        stopped = true;
    }

    void check() {
        if (violation != null) {
            throw new IllegalStateException(violation);
        }
    }

    /** The node that seems to lead (the highest term among those up that say so), or a random node up, or null. */
    private Member target() {
        Member leader = null;
        List<Member> up = new ArrayList<>();
        for (Member m : cluster.members()) {
            if (!m.isUp()) {
                continue;
            }
            up.add(m);
            if (m.server.status().isLeader()
                    && (leader == null || m.server.status().term() > leader.server.status().term())) {
                leader = m;
            }
        }
        if (leader != null && random.nextInt(10) != 0) {
            return leader;
        }
        return up.isEmpty() ? null : up.get(random.nextInt(up.size()));
    }

    private void step() {
        check();
        if (stopped) {
            return;
        }
        Member at = target();
        if (at != null) {
            act(at);
        }
        ctx.schedule(ctx.now() + 100 * MILLIS + random.nextLong(1_200 * MILLIS), new Next());
    }

    private void act(Member at) {
        RaftServer server = at.server;
        ClusterConfiguration c = server.configuration();
        List<Configuration.Member> members = c.members();
        List<String> voters = new ArrayList<>(c.voters());
        List<String> learners = new ArrayList<>();
        for (Configuration.Member m : members) {
            if (m.kind() == Configuration.Kind.LEARNER) {
                learners.add(m.id());
            }
        }
        List<String> memberIds = new ArrayList<>();
        members.forEach(m -> memberIds.add(m.id()));
        int dice = random.nextInt(100);
        if (dice < 20) {
            if (members.size() < 7 && !spares.isEmpty()) {
                String id = bringUp();
                record(at, new Call("addLearner", id, null, 0, null, ctx.now()), s -> s.addLearner(id, address(id)));
            }
        } else if (dice < 35) {
            String id = learners.isEmpty() ? ids(random) : learners.get(random.nextInt(learners.size()));
            record(at, new Call("promote", id, null, 0, null, ctx.now()), s -> s.promote(id));
        } else if (dice < 50) {
            List<String> removable = new ArrayList<>(learners);
            if (voters.size() > 3 && !c.isJoint()) {
                removable.addAll(voters);
            }
            if (!removable.isEmpty()) {
                String id = removable.get(random.nextInt(removable.size()));
                record(at, new Call("removeMember", id, null, 0, null, ctx.now()), s -> s.removeMember(id));
            }
        } else if (dice < 60) {
            if (!spares.isEmpty() && !voters.isEmpty()) {
                String old = voters.get(random.nextInt(voters.size()));
                String id = bringUp();
                record(at, new Call("replaceMember", id, old, 0, null, ctx.now()), s -> s.replaceMember(old, id, address(id)));
            }
        } else if (dice < 78) {
            // Mostly voters, now and then a learner or a stranger (which must be refused).
            String id = random.nextInt(5) != 0 && !voters.isEmpty() ? voters.get(random.nextInt(voters.size()))
                    : ids(random);
            Call call = new Call("transferLeadership", id, null, 0, null, ctx.now());
            calls.add(call);
            ctx.note("operator at " + at.id + ": " + call.what);
            server.transferLeadership(id).whenComplete((leader, error) -> {
                call.newLeader = leader;
                end(call, error);
            });
        } else if (dice < 93) {
            race(at, c, memberIds, learners, voters);
        } else {
            // A change from a configuration read long ago: never accepted.
            if (c.index() > 0) {
                long stale = random.nextLong(c.index());
                List<Configuration.Member> wanted = withoutOne(members, learners);
                if (wanted != null) {
                    record(at, new Call("changeMembership", null, null, stale, wanted, ctx.now()),
                            s -> s.changeMembership(stale, wanted));
                }
            }
        }
    }

    /**
     * Two administrators read the configuration at once and each asks for a change from it: the
     * expected-index check lets at most one through, the other is refused (CONFIGURATION_CHANGED,
     * or CHANGE_IN_PROGRESS if the winner is still joint).
     */
    private void race(Member at, ClusterConfiguration c, List<String> memberIds, List<String> learners, List<String> voters) {
        if (c.index() == 0 && c.members().isEmpty()) {
            return;
        }
        List<List<Configuration.Member>> options = new ArrayList<>();
        List<Configuration.Member> drop = withoutOne(c.members(), learners);
        if (drop != null) {
            options.add(drop);
        }
        if (!learners.isEmpty()) {
            String l = learners.get(random.nextInt(learners.size()));
            List<Configuration.Member> promoted = new ArrayList<>();
            for (Configuration.Member m : c.members()) {
                promoted.add(m.id().equals(l) ? m.as(Configuration.Kind.VOTER) : m);
            }
            options.add(promoted);
        }
        if (voters.size() > 3) {
            String v = voters.get(random.nextInt(voters.size()));
            List<Configuration.Member> fewer = new ArrayList<>(c.members());
            fewer.removeIf(m -> m.id().equals(v));
            options.add(fewer);
        }
        if (options.isEmpty()) {
            return;
        }
        List<Configuration.Member> a = options.get(random.nextInt(options.size()));
        List<Configuration.Member> b = options.get(random.nextInt(options.size()));
        Call first = new Call("changeMembership", null, null, c.index(), a, ctx.now());
        Call second = new Call("changeMembership", null, null, c.index(), b, ctx.now());
        first.rival = second;
        second.rival = first;
        record(at, first, s -> s.changeMembership(c.index(), a));
        // The second administrator's tool may go to another node.
        Member other = random.nextInt(4) == 0 ? target() : at;
        if (other != null) {
            record(other, second, s -> s.changeMembership(c.index(), b));
        }
    }

    /** The members without one learner, or null if there is none. */
    private List<Configuration.Member> withoutOne(List<Configuration.Member> members, List<String> learners) {
        if (learners.isEmpty()) {
            return null;
        }
        String l = learners.get(random.nextInt(learners.size()));
        List<Configuration.Member> out = new ArrayList<>(members);
        out.removeIf(m -> m.id().equals(l));
        return out;
    }

    /** Any id the run knows, used or not (a call naming a server that is not a member must be refused). */
    private String ids(SplittableRandom r) {
        List<String> all = cluster.ids();
        return all.get(r.nextInt(all.size()));
    }

    /** Starts the next spare as a brand-new server: empty disk, {@code join()}. */
    private String bringUp() {
        String id = spares.removeFirst();
        brought.add(id);
        cluster.joiners.add(id);
        cluster.restart(cluster.member(id));
        return id;
    }

    static String address(String id) {
        return id + ".sim:7000";
    }

    private void record(Member at, Call call, java.util.function.Function<RaftServer, CompletableFuture<ClusterConfiguration>> how) {
        calls.add(call);
        ctx.note("operator at " + at.id + ": " + call.what);
        how.apply(at.server).whenComplete((result, error) -> {
            call.result = result;
            end(call, error);
        });
    }

    private void end(Call call, Throwable error) {
        if (error instanceof CompletionException ce && ce.getCause() != null) {
            error = ce.getCause();
        }
        call.done = true;
        call.failure = error;
        ctx.note("operator: " + call);
        if (error != null && !(error instanceof MembershipChangeException || error instanceof NotLeaderException
                || error instanceof UnknownOutcomeException || error instanceof ServerClosedException
                || error instanceof LeadershipTransferException)) {
            violation = "membership call " + call.what + " failed unexpectedly: " + error;
        }
    }

    private final class Next extends Event {
        @Override
        void run() {
            step();
        }
    }
}
