package org.raftkit.sim;

import static org.raftkit.sim.Simulation.MILLIS;
import static org.raftkit.sim.Simulation.SECONDS;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;

import org.raftkit.RaftConfig;
import org.raftkit.RaftServer;
import org.raftkit.SnapshotConfig;
import org.raftkit.StateMachine;
import org.raftkit.message.Entry;
import org.raftkit.sim.NodeCluster.Member;
import org.raftkit.sim.SimContext.Event;

/**
 * Tests an application's {@link StateMachine} on a simulated RaftKit cluster: 3 or 5 real
 * {@link RaftServer}s in virtual time on one thread, under every fault of the whole-node
 * simulator (partitions, loss, duplication and reordering, crashes and crash loops, power loss
 * during a sync, disks that lose their tail, pauses, clock jumps, slow state machines), with
 * clients submitting your commands and reading with your queries on random nodes. One seed
 * decides everything, so a failing seed replays exactly.
 *
 * <p>It checks that every node applies the same command at each index, once and in order; that
 * after the faults heal the cluster converges and every node's state machine ends in the same
 * state (by your digest, or else by the answers to your queries); and, if you give a sequential
 * {@link Model}, that every acknowledged command's result and every linearizable read's answer
 * is what the model gives at some point of the log between the call's start and its end.
 *
 * <pre>{@code
 * StateMachineSimulation sim = StateMachineSimulation.builder()
 *         .stateMachine(Counter::new)
 *         .commands(random -> ByteBuffer.allocate(8).putLong(random.nextInt(10)).array())
 *         .queries(random -> new byte[0])
 *         .model(CounterModel::new)
 *         .build();
 * sim.check(1, 200);   // seeds 1 to 200; throws naming each failing seed and how to replay it
 * }</pre>
 */
public final class StateMachineSimulation {

    /** How long clients work with faults on, and then with everything healed. */
    private static final long FAULT_PHASE = 8 * SECONDS;
    private static final long HEALED_PHASE = 2 * SECONDS;
    private static final long CONVERGENCE_DEADLINE = 30 * SECONDS;

    /**
     * A sequential reference for your state machine: what one copy applying the commands in log
     * order would answer. Built fresh for each check; called on one thread.
     */
    public interface Model {
        /** Applies a command; returns the result {@link StateMachine#apply} must give. */
        byte[] apply(byte[] command);

        /** Answers a query on the state so far. */
        byte[] query(byte[] query);
    }

    /** What one seed's run produced; {@link #trace} holds its last events. */
    public record Result(long seed, boolean passed, String failure, int nodes, long calls, long okCalls,
                         long appliedIndex, String trace) {
    }

    private final Supplier<? extends StateMachine> machines;
    private final Function<SplittableRandom, byte[]> commands;
    private final Function<SplittableRandom, byte[]> queries;
    private final Function<StateMachine, ?> digest;
    private final Supplier<? extends Model> model;
    private final int nodes;

    private StateMachineSimulation(Builder b) {
        this.machines = Objects.requireNonNull(b.machines, "stateMachine");
        this.commands = Objects.requireNonNull(b.commands, "commands");
        this.queries = b.queries;
        this.digest = b.digest;
        this.model = b.model;
        this.nodes = b.nodes;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Runs seeds {@code first} to {@code first + count - 1}.
     *
     * @throws AssertionError naming every failing seed, its failure, and the call that replays it
     */
    public void check(long first, long count) {
        StringBuilder failures = new StringBuilder();
        int failed = 0;
        for (long seed = first; seed < first + count; seed++) {
            Result r = run(seed);
            if (!r.passed()) {
                failed++;
                failures.append("FAILED seed=").append(seed).append(": ").append(r.failure())
                        .append("\n  replay: run(").append(seed).append("L)\n");
                if (failed == 1) {
                    failures.append("  last events:\n").append(r.trace().indent(4));
                }
            }
        }
        if (failed > 0) {
            throw new AssertionError(failed + " of " + count + " seeds failed\n" + failures);
        }
    }

    /** Runs one seed; never throws for a failure, it reports it. */
    public Result run(long seed) {
        return new Run(seed).run();
    }

    /** Assembles a {@link StateMachineSimulation}; {@code stateMachine} and {@code commands} are required. */
    public static final class Builder {
        private Supplier<? extends StateMachine> machines;
        private Function<SplittableRandom, byte[]> commands;
        private Function<SplittableRandom, byte[]> queries;
        private Function<StateMachine, ?> digest;
        private Supplier<? extends Model> model;
        private int nodes;

        private Builder() {
        }

        /** Builds a fresh, empty state machine: one per node and restart. */
        public Builder stateMachine(Supplier<? extends StateMachine> machines) {
            this.machines = machines;
            return this;
        }

        /** Draws the next command from the run's random source (use nothing else, or runs do not replay). */
        public Builder commands(Function<SplittableRandom, byte[]> commands) {
            this.commands = commands;
            return this;
        }

        /** Draws the next query; without it, clients only submit commands. */
        public Builder queries(Function<SplittableRandom, byte[]> queries) {
            this.queries = queries;
            return this;
        }

        /** A value equal on two machines exactly when their states are (compared with {@code equals}). */
        public Builder digest(Function<StateMachine, ?> digest) {
            this.digest = digest;
            return this;
        }

        /** A sequential reference the results and read answers must agree with. */
        public Builder model(Supplier<? extends Model> model) {
            this.model = model;
            return this;
        }

        /** 3 or 5 nodes; by default each seed picks (one run in four has five). */
        public Builder nodes(int nodes) {
            if (nodes != 3 && nodes != 5) {
                throw new IllegalArgumentException("nodes must be 3 or 5, was " + nodes);
            }
            this.nodes = nodes;
            return this;
        }

        public StateMachineSimulation build() {
            return new StateMachineSimulation(this);
        }
    }

    /** One call as a client saw it, for the model check. Indexes bound where it may take effect. */
    private record Seen(boolean write, byte[] payload, byte[] answer, long fromIndex, long toIndex) {
    }

    /** One seed's run. */
    private final class Run {
        private final long seed;
        private final SimContext ctx;
        private final SplittableRandom random;
        private final NodeCluster cluster;
        private final NodeNemesis nemesis;
        private final List<Seen> seen = new ArrayList<>();
        private boolean stopped;
        private boolean healed;
        private long calls;
        private long ok;
        private long okAfterHeal;

        Run(long seed) {
            this.seed = seed;
            this.ctx = new SimContext(seed);
            this.random = ctx.random;
            int size = nodes != 0 ? nodes : random.nextInt(4) == 0 ? 5 : 3;
            List<String> ids = new ArrayList<>();
            for (int i = 1; i <= size; i++) {
                ids.add("n" + i);
            }
            RaftConfig config = NodeSimulation.randomConfig(random).withMaxPending(1_000, 64L << 20)
                    .withMaxCommandBytes(RaftConfig.DEFAULT_MAX_COMMAND_BYTES);
            long carries = Math.max(config.maxAppendBytes(), config.maxCommandBytes() + Entry.SESSION_HEADER_BYTES + Entry.OVERHEAD_BYTES)
                    + SnapshotConfig.DEFAULT_CHUNK_BYTES;
            NodeNetwork network = new NodeNetwork(ctx, new SimNetwork(random.split(), ids), carries);
            // Snapshots as the whole-node simulation takes them; a machine without snapshot() just
            // runs without compaction.
            SnapshotConfig snapshots = NodeSimulation.randomSnapshotConfig(random);
            this.cluster = new NodeCluster(ctx, ids, config, snapshots, network, id -> machines.get());
            this.nemesis = new NodeNemesis(ctx, cluster, network);
        }

        Result run() {
            String failure = null;
            try {
                for (String id : cluster.ids()) {
                    cluster.restart(cluster.member(id));
                }
                int clients = 2 + random.nextInt(5);
                for (int c = 0; c < clients; c++) {
                    ctx.schedule(random.nextLong(50 * MILLIS), new NextCall());
                }
                nemesis.start();
                ctx.runUntil(FAULT_PHASE);
                nemesis.stopAndHeal();
                healed = true;
                ctx.runUntil(FAULT_PHASE + HEALED_PHASE);
                stopped = true;
                cluster.awaitConvergence(CONVERGENCE_DEADLINE, () -> { });
                checkSameState();
                if (model != null) {
                    checkAgainstModel();
                }
                if (ok == 0 || okAfterHeal == 0) {
                    throw new IllegalStateException("no call succeeded " + (ok == 0 ? "in the whole run" : "after the heal"));
                }
            } catch (RuntimeException | AssertionError e) {
                failure = e.getClass().getSimpleName() + ": " + e.getMessage();
                ctx.note("FAILURE " + failure);
            }
            return new Result(seed, failure == null, failure, cluster.ids().size(), calls, ok, cluster.highestApplied(),
                    ctx.trace());
        }

        private void call() {
            if (stopped) {
                return;
            }
            calls++;
            boolean write = queries == null || random.nextInt(5) < 3;
            byte[] payload = write ? commands.apply(random) : queries.apply(random);
            RaftServer server = cluster.server(cluster.ids().get(random.nextInt(cluster.ids().size())));
            if (server == null) {
                ctx.schedule(ctx.now() + 10 * MILLIS + random.nextLong(50 * MILLIS), new NextCall());
                return;
            }
            long from = write ? cluster.highestCommitted() + 1 : cluster.highestApplied();
            CompletableFuture<byte[]> future = write ? server.submit(payload) : server.read(payload);
            boolean[] done = new boolean[1];
            future.whenComplete((answer, error) -> {
                if (error == null) {
                    ok++;
                    if (healed) {
                        okAfterHeal++;
                    }
                    seen.add(new Seen(write, payload, answer, from, cluster.highestApplied()));
                }
                if (!done[0]) {
                    done[0] = true;
                    ctx.schedule(ctx.now() + random.nextLong(5 * MILLIS), new NextCall());
                }
            });
            ctx.schedule(ctx.now() + 3 * SECONDS, new Event() { // an impatient client moves on
                @Override
                void run() {
                    if (!done[0]) {
                        done[0] = true;
                        call();
                    }
                }
            });
        }

        private void checkSameState() {
            Object first = null;
            String firstId = null;
            List<byte[]> probes = new ArrayList<>();
            if (digest == null && queries != null) {
                SplittableRandom probeRandom = new SplittableRandom(seed);
                for (int i = 0; i < 16; i++) {
                    probes.add(queries.apply(probeRandom));
                }
            }
            for (Member m : cluster.members()) {
                Object state = digest != null ? digest.apply(m.machine) : answers(m.machine, probes);
                if (first != null && !first.equals(state)) {
                    throw new IllegalStateException("after converging, " + m.id + "'s state " + state + " differs from "
                            + firstId + "'s " + first);
                }
                first = state;
                firstId = m.id;
            }
        }

        private List<String> answers(StateMachine machine, List<byte[]> probes) {
            List<String> out = new ArrayList<>();
            for (byte[] q : probes) {
                out.add(Arrays.toString(machine.query(q)));
            }
            return out;
        }

        /**
         * Replays the log once through the model. An acknowledged command must have been applied
         * at an index in its window with the model's result there; a read's answer must be the
         * model's at some index in its window.
         */
        private void checkAgainstModel() {
            Model reference = model.get();
            long last = cluster.highestApplied();
            Map<Long, byte[]> results = new HashMap<>();
            List<Seen> reads = new ArrayList<>();
            List<Seen> writes = new ArrayList<>();
            for (Seen s : seen) {
                (s.write() ? writes : reads).add(s);
            }
            reads.sort((a, b) -> Long.compare(a.fromIndex(), b.fromIndex()));
            List<Seen> open = new ArrayList<>();
            int next = 0;
            for (long i = 0; i <= last; i++) {
                byte[] command = i == 0 ? null : cluster.appliedCommand(i);
                if (command != null) {
                    results.put(i, reference.apply(command));
                }
                while (next < reads.size() && reads.get(next).fromIndex() <= i) {
                    open.add(reads.get(next++));
                }
                for (var it = open.iterator(); it.hasNext(); ) {
                    Seen r = it.next();
                    if (Arrays.equals(reference.query(r.payload()), r.answer())) {
                        it.remove();
                    } else if (r.toIndex() <= i) {
                        throw new IllegalStateException("a read answered " + Arrays.toString(r.answer())
                                + ", which the model gives at no index in [" + r.fromIndex() + ", " + r.toIndex() + "]");
                    }
                }
            }
            for (Seen w : writes) {
                boolean found = false;
                for (long i = w.fromIndex(); i <= w.toIndex() && !found; i++) {
                    found = Arrays.equals(cluster.appliedCommand(i), w.payload()) && Arrays.equals(results.get(i), w.answer());
                }
                if (!found) {
                    throw new IllegalStateException("an acknowledged command's result " + Arrays.toString(w.answer())
                            + " is not the model's for that command at any index in [" + w.fromIndex() + ", "
                            + w.toIndex() + "]");
                }
            }
        }

        private final class NextCall extends Event {
            @Override
            void run() {
                call();
            }
        }
    }
}
