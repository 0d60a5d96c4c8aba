package org.raftkit.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.core.RaftNode;
import org.raftkit.core.Ready;
import org.raftkit.sim.SimCluster.SimNode;
import org.raftkit.sim.lin.CheckResult;
import org.raftkit.sim.lin.LinearizabilityChecker;
import org.raftkit.sim.lin.Verdict;

/**
 * One seeded run of a whole Raft cluster in virtual time. The seed decides everything: cluster
 * size and config, every message delay, loss, duplicate and reordering, every partition, crash,
 * pause and slow disk, and every client operation. The same seed replays the same run.
 *
 * <p>Each node is a {@link RaftNode} driven exactly as {@link Ready}'s contract says: a leader's
 * messages leave at once; term, vote and entries go to a simulated disk that completes writes in
 * order after a delay; acknowledgements leave only when their write is done. A crash loses every
 * write not yet done (possibly keeping a prefix of them, as a real disk might), and a restart
 * rebuilds the node from what the disk holds.
 *
 * <p>After every step the {@link SafetyChecker} checks Figure 3's properties and each node its own
 * invariants. At the end the network heals and every node restarts; the run must then converge
 * (one leader, identical committed logs and state machines) and make progress, and the client
 * history must be linearizable.
 *
 * <p>In most runs the membership changes too: {@link MembershipChurn} adds spare servers as
 * learners, promotes, removes and replaces servers (the leader among them) and hands leadership
 * over, among all the other faults. Removed servers are shut down for good; the run then converges
 * on the members of the final configuration.
 *
 * <p>The parts: {@link SimCluster} drives the nodes, {@link SimClients} issues the operations and
 * keeps the history, {@link Nemesis} injects the faults, {@link MembershipChurn} changes the
 * membership, and {@link SimContext} holds the clock, the event queue and the one random they all
 * draw from.
 */
public final class Simulation {

    static final long TICK_MICROS = 10_000;
    static final long MILLIS = 1_000;
    static final long SECONDS = 1_000_000;

    /** How long clients work with faults on. */
    static final long FAULT_PHASE = 15 * SECONDS;
    /** How long clients go on after the final heal. */
    static final long HEALED_PHASE = 3 * SECONDS;
    /** How long the cluster may take to converge once clients stop. */
    static final long CONVERGENCE_DEADLINE = 30 * SECONDS;

    private final long seed;
    private final SimContext ctx;
    private final List<String> ids = new ArrayList<>();
    private final RaftConfig config;
    private final SimNetwork net;
    private final int clientCount;
    private final int keyCount;
    private final SimCluster cluster;
    private final SimClients clients;
    private final Nemesis nemesis;
    /** Null in runs with fixed membership. */
    private final MembershipChurn churn;

    /** What a run produced. */
    public record Result(long seed, boolean passed, String failure, int nodes, long operations, long okOperations,
                         long committedIndex, int membershipChanges, String trace) {
    }

    public Simulation(long seed) {
        this.seed = seed;
        this.ctx = new SimContext(seed);
        SplittableRandom random = ctx.random;
        int size = random.nextInt(4) == 0 ? 5 : 3;
        for (int i = 1; i <= size; i++) {
            ids.add("n" + i);
        }
        List<String> initialVoters = List.copyOf(ids);
        // Three runs in four change their membership; those have two spare servers to add.
        boolean churning = random.nextInt(4) != 0;
        if (churning) {
            ids.add("n" + (size + 1));
            ids.add("n" + (size + 2));
        }
        this.config = randomConfig(random);
        this.net = new SimNetwork(random.split(), ids);
        this.clientCount = 2 + random.nextInt(6);
        this.keyCount = 1 + random.nextInt(8);
        int aimedCrashPercent = random.nextInt(3) == 0 ? 0 : 1 + random.nextInt(10);
        this.cluster = new SimCluster(ctx, ids, initialVoters, config, net);
        this.clients = new SimClients(ctx, cluster, clientCount, keyCount);
        this.nemesis = new Nemesis(ctx, cluster, net, aimedCrashPercent);
        this.churn = churning ? new MembershipChurn(ctx, cluster) : null;
        cluster.attach(clients, nemesis);
    }

    private static RaftConfig randomConfig(SplittableRandom random) {
        RaftConfig c = RaftConfig.defaults();
        if (random.nextInt(5) == 0) {
            c = c.withPreVote(random.nextBoolean()).withCheckQuorum(random.nextBoolean());
        }
        if (random.nextInt(3) == 0) {
            c = c.withMaxAppend(1 + random.nextInt(8), 64 + random.nextInt(2048));
        }
        if (random.nextInt(3) == 0) {
            c = c.withMaxInflight(1 + random.nextInt(8), 256 + random.nextInt(8192));
        }
        if (random.nextInt(4) == 0) {
            c = c.withMaxApplyBatchBytes(1 + random.nextInt(512));
        }
        if (random.nextInt(3) == 0) {
            c = c.withMaxPromotionLagEntries(random.nextInt(20));
        }
        return c;
    }

    /** Runs the whole simulation; never throws for a protocol failure, it reports it. */
    public Result run() {
        String failure = null;
        try {
            start();
            ctx.runUntil(FAULT_PHASE);
            healEverything();
            ctx.runUntil(FAULT_PHASE + HEALED_PHASE);
            clients.stop();
            awaitConvergence();
            checkHistory();
            if (clients.okOperations() == 0) {
                throw new IllegalStateException("no client operation succeeded in the whole run");
            }
            if (clients.okAfterHeal() == 0) {
                throw new IllegalStateException("no client operation succeeded after the network healed");
            }
        } catch (RuntimeException | AssertionError e) {
            failure = e.getClass().getSimpleName() + ": " + e.getMessage();
            ctx.note("FAILURE " + failure);
        }
        long committed = 0;
        for (SimNode n : cluster.nodes()) {
            if (n.core != null) {
                committed = Math.max(committed, n.core.commitIndex());
            }
        }

        ctx.note("messages sent by type: " + cluster.sentByType());
        if (churn != null) {
            ctx.note(churn.summary());
        }
        return new Result(seed, failure == null, failure, ids.size(), clients.history().size(), clients.okOperations(),
                committed, cluster.safety().committedChanges(), ctx.trace());
    }

    // ---------------------------------------------------------------------------------------------
    // Setup and phases
    // ---------------------------------------------------------------------------------------------

    private void start() {
        ctx.note("cluster " + ids + " " + config + " clients=" + clientCount + " keys=" + keyCount
                + (churn == null ? "" : " membership churn"));
        for (String id : ids) {
            cluster.start(id);
        }
        clients.start();
        nemesis.start();
        if (churn != null) {
            churn.start();
        }
    }

    private void healEverything() {
        nemesis.stop();
        if (churn != null) {
            churn.stop();
        }
        clients.faultsOver();
        net.heal();
        net.calm();
        for (SimNode n : cluster.nodes()) {
            n.diskSlowFactor = 1;
            if (n.core == null && !n.retired) {
                cluster.restart(n);
            }
            if (n.paused) {
                cluster.resume(n);
            }
        }
        ctx.note("healed: network whole, every node up");
    }

    private void awaitConvergence() {
        long deadline = ctx.now() + CONVERGENCE_DEADLINE;
        while (ctx.now() < deadline) {
            ctx.runUntil(ctx.now() + 100 * MILLIS);
            if (churn != null) {
                churn.retireRemoved(); // as an operator would, once the change is done
            }
            String why = notConvergedBecause();
            if (why == null) {
                return;
            }
        }
        throw new IllegalStateException("did not converge within " + CONVERGENCE_DEADLINE / SECONDS
                + " s after healing: " + notConvergedBecause());
    }

    /**
     * Null when converged: one leader every member of its configuration follows, that
     * configuration committed and not joint, identical logs, all committed and applied. Servers
     * outside it (retired, or spares never added) are not part of the cluster.
     */
    private String notConvergedBecause() {
        SimNode leader = null;
        for (SimNode n : cluster.nodes()) {
            if (n.core == null) {
                continue; // retired
            }
            if (n.core.role() == Role.LEADER) {
                if (leader != null && leader.core.currentTerm() == n.core.currentTerm()) {
                    return "two leaders";
                }
                if (leader == null || n.core.currentTerm() > leader.core.currentTerm()) {
                    leader = n;
                }
            }
        }
        if (leader == null) {
            return "no leader";
        }
        org.raftkit.core.Configuration configuration = leader.core.configuration();
        if (configuration.isJoint() || leader.core.configurationIndex() > leader.core.commitIndex()) {
            return "a configuration change in flight: " + configuration;
        }
        long last = leader.core.lastIndex();
        List<SimNode> members = new ArrayList<>();
        for (org.raftkit.core.Configuration.Member m : configuration.allMembers()) {
            SimNode n = cluster.node(m.id());
            if (n.core == null) {
                return m.id() + " is a member of " + configuration + " but retired";
            }
            members.add(n);
        }
        for (SimNode n : members) {
            RaftNode c = n.core;
            if (!leader.id.equals(c.leaderId()) || c.currentTerm() != leader.core.currentTerm()) {
                return n.id + " follows " + c.leaderId() + " at term " + c.currentTerm();
            }
            if (c.lastIndex() != last || c.commitIndex() != last || n.applied != last) {
                return n.id + " at last=" + c.lastIndex() + " commit=" + c.commitIndex() + " applied=" + n.applied
                        + ", leader " + leader.core.describe();
            }
            if (!n.pendingWrites.isEmpty() || !n.pendingReads.isEmpty()) {
                return n.id + " has client operations pending";
            }
        }
        for (SimNode n : members) {
            if (!n.core.entries(1, last + 1).equals(leader.core.entries(1, last + 1))) {
                throw new IllegalStateException("logs of " + n.id + " and " + leader.id + " differ though both committed "
                        + last);
            }
        }
        return null;
    }

    private void checkHistory() {
        CheckResult result = new LinearizabilityChecker().check(clients.history());
        if (result.verdict() == Verdict.NOT_LINEARIZABLE) {
            throw new IllegalStateException("history not linearizable: key " + result.key() + ": " + result.explanation());
        }
        if (result.verdict() == Verdict.UNDECIDED) {
            ctx.note("linearizability undecided within the search budget: " + result.explanation());
        }
    }
}
