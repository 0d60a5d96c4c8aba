package org.raftkit.sim;

import static org.raftkit.sim.Simulation.SECONDS;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.raftkit.RaftConfig;
import org.raftkit.SnapshotConfig;
import org.raftkit.message.Entry;
import org.raftkit.sim.NodeCluster.Member;
import org.raftkit.sim.lin.CheckResult;
import org.raftkit.sim.lin.LinearizabilityChecker;
import org.raftkit.sim.lin.Verdict;

/**
 * One seeded run of whole nodes: real {@code RaftServer}s (runtime, core, client calls, apply
 * loop) in virtual time on one thread, under every fault {@link NodeNemesis} knows, with clients
 * calling the public API. The seed decides everything, so the same seed replays the same run.
 *
 * <p>In one run in four, {@link NodeForger} also sends messages no correct member would (the
 * Byzantine-input mode).
 *
 * <p>Checks: after every turn of every loop, those of {@link NodeCluster}; on every completed
 * write, that it got its own command's result ({@link NodeClients}); at the end, after healing,
 * that the cluster converges (one leader, identical logs, every node applied everything), that every
 * acknowledged write is applied on every node, that all state machines are equal, and that the
 * history is linearizable.
 */
public final class NodeSimulation {

    static final long FAULT_PHASE = 10 * SECONDS;
    static final long HEALED_PHASE = 3 * SECONDS;
    static final long CONVERGENCE_DEADLINE = 30 * SECONDS;

    private final long seed;
    private final SimContext ctx;
    private final List<String> ids = new ArrayList<>();
    private final RaftConfig config;
    /** Null in one run in four: those run without snapshots, as a user without a store does. */
    private final SnapshotConfig snapshotConfig;
    private final NodeCluster cluster;
    private final NodeClients clients;
    private final NodeNemesis nemesis;
    private final NodeNetwork network;
    /** Forges invalid messages in one run in four (the Byzantine-input mode); null otherwise. */
    private final NodeForger forger;

    /** What a run produced. */
    public record Result(long seed, boolean passed, String failure, int nodes, long operations, long okOperations,
                         long committedIndex, long snapshotsTaken, long snapshotsRestored, long snapshotChunks,
                         String trace) {
    }

    public NodeSimulation(long seed) {
        this(seed, Mode.DEFAULT);
    }

    /** What a run exercises besides the default mix; each draws extra only in its own mode. */
    public enum Mode {
        DEFAULT,
        /**
         * {@code RaftConfig.leaseReads} on: half the linearizable reads are lease reads (checked for
         * linearizability like the others), each machine's clock runs at its own rate, the fastest
         * and slowest differing by up to the drift bound the lease allows for, and leaders are asked
         * to hand leadership over now and then.
         */
        LEASE_READS,
        /**
         * Clients write through registered sessions and send writes of unknown outcome again, same
         * number, until answered ({@code NodeClients.appSessions}).
         */
        APP_SESSIONS
    }

    /** Lease simulation: reads each incarnation answered under its lease, as its core counted them. */
    private final java.util.Map<String, Long> leaseReadsByIncarnation = new java.util.HashMap<>();

    /** Writes sent again with their session number ({@link Mode#APP_SESSIONS}), and those answered after a resend. */
    public long[] sessionResends() {
        return new long[] {clients.resentWrites(), clients.answeredAfterResend()};
    }

    /** Reads answered under a leader's lease in this run (0 unless lease reads are on). */
    public long leaseReadsAnswered() {
        return leaseReadsByIncarnation.values().stream().mapToLong(Long::longValue).sum();
    }

    public NodeSimulation(long seed, Mode mode) {
        boolean leaseReads = mode == Mode.LEASE_READS;
        this.seed = seed;
        this.ctx = new SimContext(seed);
        SplittableRandom random = ctx.random;
        int size = random.nextInt(4) == 0 ? 5 : 3;
        for (int i = 1; i <= size; i++) {
            ids.add("n" + i);
        }
        RaftConfig drawn = randomConfig(random);
        this.config = leaseReads ? drawn.withCheckQuorum(true).withLeaseReads(true, RaftConfig.DEFAULT_CLOCK_DRIFT_BOUND)
                : drawn;
        this.snapshotConfig = randomSnapshotConfig(random);
        long carries = Math.max(Math.max(config.maxAppendBytes(), config.maxCommandBytes() + Entry.SESSION_HEADER_BYTES + Entry.OVERHEAD_BYTES),
                snapshotConfig == null ? 0 : snapshotConfig.chunkBytes() + 64L);
        this.network = new NodeNetwork(ctx, new SimNetwork(random.split(), ids), carries);
        this.cluster = new NodeCluster(ctx, ids, config, snapshotConfig, network, id -> new NodeKvMachine());
        cluster.commandsAreUnique = true;
        cluster.digest = machine -> ((NodeKvMachine) machine).digest();
        this.clients = new NodeClients(ctx, cluster, 2 + random.nextInt(6), 1 + random.nextInt(8));
        this.nemesis = new NodeNemesis(ctx, cluster, network);
        nemesis.clients = clients;
        cluster.onCrash = clients::onCrash;
        this.forger = random.nextInt(4) == 0 ? new NodeForger(ctx, cluster, network) : null;
        clients.appSessions = mode == Mode.APP_SESSIONS;
        if (leaseReads) {
            nemesis.transfers = true;
            cluster.afterRaftTurn = (m, core) -> leaseReadsByIncarnation.put(m.id + "#" + m.incarnation, core.leaseReadCount());
            double spread = Math.sqrt(config.clockDriftBound());
            for (String id : ids) {
                // In [1/√b, √b): any two clocks differ by less than the bound b.
                cluster.member(id).clockRate = 1 / spread + random.nextDouble() * (spread - 1 / spread);
            }
        }
    }

    /** The core simulator's random configs, with limits small enough for the faults to reach them. */
    static RaftConfig randomConfig(SplittableRandom random) {
        RaftConfig c = RaftConfig.defaults()
                .withRequestTimeoutMillis(500 + random.nextLong(2_500))
                .withMaxPending(16 + random.nextInt(2_000), 16_384 + random.nextLong(1 << 20))
                .withMaxCommandBytes(256 + random.nextLong(8_192));
        if (random.nextInt(5) == 0) {
            c = c.withPreVote(random.nextBoolean()).withCheckQuorum(random.nextBoolean());
        }
        if (random.nextInt(3) == 0) {
            c = c.withMaxAppend(1 + random.nextInt(8), 64 + random.nextInt(2048));
        } else {
            c = c.withMaxAppend(RaftConfig.DEFAULT_MAX_APPEND_ENTRIES, 64 * 1024);
        }
        if (random.nextInt(3) == 0) {
            c = c.withMaxInflight(1 + random.nextInt(8), 256 + random.nextInt(8192));
        }
        if (random.nextInt(4) == 0) {
            c = c.withMaxApplyBatchBytes(1 + random.nextInt(512));
        }
        return c;
    }

    /**
     * Snapshots often enough to happen many times in a run, with small chunks and windows so that
     * transfers take many messages and meet the faults; null in one run in four. Chunks are at
     * least 1 KiB: at 67 bytes, one at a time, a snapshot grown by a burst of writes took longer
     * to send than the run gives the cluster to converge (seed 51156: slow, not wrong).
     */
    static SnapshotConfig randomSnapshotConfig(SplittableRandom random) {
        if (random.nextInt(4) == 0) {
            return null;
        }
        return SnapshotConfig.defaults()
                .withTriggers(10 + random.nextLong(400), 1024 + random.nextLong(1 << 20), 200 + random.nextLong(3_000))
                .withTrailingEntries(random.nextInt(3) == 0 ? 0 : random.nextLong(100))
                .withChunks(1_024 + random.nextInt(16_384), 1 + random.nextInt(4))
                .withTransferTimeoutMillis(100 + random.nextLong(2_000));
    }

    /** Runs the whole simulation; never throws for a failure, it reports it. */
    public Result run() {
        String failure = null;
        try {
            ctx.note("cluster " + ids + " " + config + " " + snapshotConfig);
            for (String id : ids) {
                cluster.restart(cluster.member(id));
            }
            clients.start();
            nemesis.start();
            if (forger != null) {
                forger.start();
            }
            ctx.runUntil(FAULT_PHASE);
            if (forger != null) {
                forger.stop();
                ctx.note(forger.forged + " invalid messages forged");
            }
            nemesis.stopAndHeal();
            clients.faultsOver();
            ctx.runUntil(FAULT_PHASE + HEALED_PHASE);
            clients.stop();
            cluster.awaitConvergence(CONVERGENCE_DEADLINE, clients::check);
            clients.check();
            checkEnd();
        } catch (RuntimeException | AssertionError e) {
            failure = e.getClass().getSimpleName() + ": " + e.getMessage();
            ctx.note("FAILURE " + failure);
        }
        return new Result(seed, failure == null, failure, ids.size(), clients.history().size(), clients.okOperations(),
                cluster.highestApplied(), cluster.snapshotsTaken, cluster.snapshotsRestored, network.snapshotChunks,
                ctx.trace());
    }

    private void checkEnd() {
        checkEnd(cluster.members(), clients);
    }

    /**
     * The end-of-run checks of a whole-node simulation, over {@code members} once the cluster has
     * converged: each applied every acknowledged write, all state machines are equal, the history
     * is linearizable, and calls succeeded during the run and after the heal. Shared with
     * {@link NodeMembershipSimulation}, which passes the members of the final configuration.
     */
    static void checkEnd(Iterable<Member> members, NodeClients clients) {
        String digest = null;
        for (Member m : members) {
            if (m.server.status().appliedIndex() < clients.highestAcknowledgedIndex()) {
                throw new IllegalStateException(m.id + " applied only up to " + m.server.status().appliedIndex()
                        + ", below the acknowledged write at " + clients.highestAcknowledgedIndex());
            }
            String d = ((NodeKvMachine) m.machine).digest();
            if (digest != null && !digest.equals(d)) {
                throw new IllegalStateException("state machines differ after convergence: " + m.id + " holds " + d
                        + ", another " + digest);
            }
            digest = d;
        }
        CheckResult result = new LinearizabilityChecker().check(clients.history());
        if (result.verdict() == Verdict.NOT_LINEARIZABLE) {
            throw new IllegalStateException("history not linearizable: key " + result.key() + ": " + result.explanation());
        }
        if (clients.okOperations() == 0) {
            throw new IllegalStateException("no client call succeeded in the whole run");
        }
        if (clients.okAfterHeal() == 0) {
            throw new IllegalStateException("no client call succeeded after everything healed");
        }
    }
}
