package org.raftkit.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.lang.management.ThreadMXBean;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.core.RaftNode;
import org.raftkit.core.Ready;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
import org.raftkit.message.RaftMessage;
import org.raftkit.spi.TermVoteStore.TermAndVote;

/**
 * Throughput and cost of the pure core: a cluster of {@link RaftNode}s with {@link MemoryLogStorage},
 * driven on one thread with no I/O, no threads and no network, so every CPU cycle measured is the
 * core's own work (plus this small driver's).
 *
 * <p>Each round of the loop:
 * <ol>
 *   <li>tops up the leader's proposals so that exactly {@code --inflight} commands are proposed and
 *       not yet committed;</li>
 *   <li>takes each node's {@link Ready} and handles it in the order its Javadoc gives: send
 *       {@code messages}; persist term/vote and entries (truncating a replaced suffix) at once,
 *       since memory is durable; send {@code messagesAfterPersist}; report {@code onPersisted};
 *       apply the committed entries (counting the leader's COMMAND entries) and report
 *       {@code onApplied};</li>
 *   <li>delivers every queued message to its target with {@code step}, in order, losing none;</li>
 *   <li>ticks every node once every {@code --tick-every} rounds, so heartbeats and CheckQuorum run
 *       but do not dominate. Before a leader exists every round ticks.</li>
 * </ol>
 * After {@code --warmup-seconds} it measures for {@code --seconds} and prints one JSON line:
 * commits per second, CPU time of this thread per committed command (the whole cluster runs on it),
 * wall-clock time per commit, and bytes allocated by this thread per commit. The process CPU per
 * commit is printed too: unlike the thread's, it includes the garbage collector and the JIT.
 *
 * <p>Run it with {@code mvn -B -q -pl raft-core test-compile exec:java
 * -Dexec.mainClass=org.raftkit.bench.CoreBenchmark -Dexec.classpathScope=test -Dexec.args="--seconds 10"}
 * (see docs/BENCHMARKS.md).
 */
public final class CoreBenchmark {

    private static final String USAGE = String.join("\n",
            "usage: CoreBenchmark [--nodes 3] [--inflight 256] [--payload 16] [--warmup-seconds 3]",
            "                     [--seconds 10] [--tick-every 1000] [--seed 1] [--phases]",
            "  --nodes N           voting members, 1 to 9 (default 3)",
            "  --inflight N        commands proposed and not yet committed, kept constant (default 256)",
            "  --payload BYTES     size of each command, preallocated and shared (default 16)",
            "  --warmup-seconds S  run this long before measuring, 0 to skip (default 3)",
            "  --seconds S         measure this long (default 10)",
            "  --tick-every N      once a leader exists, tick every node once per N rounds (default 1000)",
            "  --seed N            seed of the nodes' election jitter (default 1)",
            "  --phases            also print to stderr the CPU time per commit of each phase of a round",
            "                      (reads the thread's CPU clock up to ~25 times a round; the measured cost",
            "                      of the reads is subtracted, but the run is slower; off by default)");

    /** The largest number of rounds allowed to elect the first leader before giving up. */
    private static final int MAX_ELECTION_ROUNDS = 100_000;

    private final Options options;
    private final RaftNode[] nodes;
    private final MemoryLogStorage[] storages;
    /** What each node has saved of its term and vote (Ready step 2). */
    private final TermAndVote[] savedTermAndVote;
    private final Map<String, RaftNode> byId = new HashMap<>();
    /** Messages sent and not yet delivered, oldest first: in order, none lost. */
    private final ArrayDeque<RaftMessage> network = new ArrayDeque<>();
    private final byte[] payload;

    private RaftNode leader;
    private long proposed;
    /** COMMAND entries the leader has applied. */
    private long committed;
    private long rounds;
    private long messagesDelivered;
    /** With --phases: where this thread's CPU time goes, by phase of a round; else null. */
    private final Phases phases;

    private CoreBenchmark(Options options) {
        this.options = options;
        this.nodes = new RaftNode[options.nodes];
        this.storages = new MemoryLogStorage[options.nodes];
        this.savedTermAndVote = new TermAndVote[options.nodes];
        this.phases = options.phases ? new Phases() : null;
        this.payload = new byte[options.payloadBytes];
        new SplittableRandom(options.seed).nextBytes(payload);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < options.nodes; i++) {
            ids.add("n" + (i + 1));
        }
        RaftConfig config = RaftConfig.defaults();
        for (int i = 0; i < options.nodes; i++) {
            storages[i] = new MemoryLogStorage();
            savedTermAndVote[i] = new TermAndVote(0, null);
            nodes[i] = new RaftNode(ids.get(i), ids, config, storages[i], savedTermAndVote[i],
                    new SplittableRandom(options.seed * 31 + i));
            byId.put(ids.get(i), nodes[i]);
        }
    }

    /** Runs the benchmark with the flags {@code --help} lists; exits with 2 on a bad flag. */
    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (UsageException e) {
            System.err.println("CoreBenchmark: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        if (options == null) {
            System.out.println(USAGE);
            return;
        }
        System.out.println(new CoreBenchmark(options).run().toJson(options));
    }

    // ---------------------------------------------------------------------------------------------
    // The run
    // ---------------------------------------------------------------------------------------------

    private Result run() {
        electLeader();

        long warmupEnd = System.nanoTime() + seconds(options.warmupSeconds);
        while (System.nanoTime() < warmupEnd) {
            runRounds(256);
        }

        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        if (!threads.isCurrentThreadCpuTimeSupported()) {
            throw new IllegalStateException("this JVM cannot measure the CPU time of a thread");
        }
        if (!threads.isThreadCpuTimeEnabled()) {
            threads.setThreadCpuTimeEnabled(true);
        }
        Allocation allocation = Allocation.of(threads);
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        com.sun.management.OperatingSystemMXBean processCpu =
                os instanceof com.sun.management.OperatingSystemMXBean p ? p : null;

        if (phases != null) {
            phases.reset();
        }
        long committedBefore = committed;
        long roundsBefore = rounds;
        long messagesBefore = messagesDelivered;
        long allocatedBefore = allocation.currentThreadBytes();
        long processCpuBefore = processCpu == null ? -1 : processCpu.getProcessCpuTime();
        long cpuBefore = threads.getCurrentThreadCpuTime();
        long wallBefore = System.nanoTime();
        long end = wallBefore + seconds(options.seconds);
        long now;
        do {
            runRounds(256);
            now = System.nanoTime();
        } while (now < end);
        long cpu = threads.getCurrentThreadCpuTime() - cpuBefore;
        long processCpuNanos = processCpu == null ? -1 : processCpu.getProcessCpuTime() - processCpuBefore;
        long allocated = allocation.currentThreadBytes();
        long wall = now - wallBefore;

        for (RaftNode node : nodes) {
            node.checkInvariants();
        }
        long commits = committed - committedBefore;
        if (commits == 0) {
            throw new IllegalStateException("nothing committed during the measurement: " + List.of(nodes));
        }
        System.err.printf(Locale.ROOT, "CoreBenchmark: %d rounds, %.2f commits/round, %.2f messages/commit, "
                        + "leader %s at term %d, commitIndex %d%n",
                rounds - roundsBefore, (double) commits / (rounds - roundsBefore),
                (double) (messagesDelivered - messagesBefore) / commits, leader.id(), leader.currentTerm(),
                leader.commitIndex());
        if (phases != null) {
            phases.print(commits, cpu);
        }
        return new Result(commits, wall, cpu, processCpuNanos,
                allocatedBefore < 0 ? -1 : allocated - allocatedBefore);
    }

    /** Ticks every node every round until one leads and has committed its no-op (§8). */
    private void electLeader() {
        for (int round = 0; round < MAX_ELECTION_ROUNDS; round++) {
            for (RaftNode node : nodes) {
                node.tick();
            }
            round();
            for (RaftNode node : nodes) {
                if (node.role() == Role.LEADER && node.termAt(node.commitIndex()) == node.currentTerm()) {
                    leader = node;
                    return;
                }
            }
        }
        throw new IllegalStateException("no leader after " + MAX_ELECTION_ROUNDS + " rounds: " + List.of(nodes));
    }

    private void runRounds(int count) {
        for (int i = 0; i < count; i++) {
            mark(Phase.DRIVER);
            propose();
            mark(Phase.PROPOSE);
            round();
            if (rounds % options.tickEvery == 0) {
                for (RaftNode node : nodes) {
                    node.tick();
                }
                mark(Phase.TICK);
            }
        }
        if (leader.role() != Role.LEADER) {
            // Every message is delivered and ticks are rare, so this means a bug, not bad luck.
            throw new IllegalStateException("the leader lost its leadership during the run: " + List.of(nodes));
        }
    }

    /** Keeps exactly {@code inflight} commands proposed and not yet committed. */
    private void propose() {
        while (proposed - committed < options.inflight) {
            if (leader.propose(payload) == RaftNode.NOT_LEADER) {
                throw new IllegalStateException(leader.id() + " refused a proposal: " + List.of(nodes));
            }
            proposed++;
        }
    }

    /** Handles every node's Ready, then delivers every message sent. */
    private void round() {
        for (int i = 0; i < nodes.length; i++) {
            handleReady(i);
        }
        mark(Phase.DRIVER);
        RaftMessage m;
        while ((m = network.pollFirst()) != null) {
            byId.get(m.to()).step(m);
            messagesDelivered++;
        }
        mark(Phase.STEP);
        rounds++;
    }

    /** Does what one Ready asks, in the order {@link Ready} prescribes. */
    private void handleReady(int i) {
        RaftNode node = nodes[i];
        mark(Phase.DRIVER);
        Ready ready = node.ready();
        mark(Phase.READY);
        if (ready.isEmpty()) {
            return;
        }
        // 1. A leader's messages need nothing of this Ready to be durable.
        send(ready.messages());
        // 2. Persist: term and vote, then entries (truncating a replaced suffix), then "sync".
        if (ready.termAndVote() != null) {
            savedTermAndVote[i] = ready.termAndVote();
        }
        List<Entry> entries = ready.entriesToPersist();
        if (!entries.isEmpty()) {
            mark(Phase.DRIVER);
            MemoryLogStorage storage = storages[i];
            long first = entries.get(0).index();
            if (storage.lastIndex() >= first) {
                storage.truncateSuffix(first);
            }
            storage.append(entries);
            storage.sync();
            mark(Phase.STORAGE_APPEND);
        }
        // 3. Durable now: votes and acknowledgements may leave.
        send(ready.messagesAfterPersist());
        if (!entries.isEmpty()) {
            Entry last = entries.get(entries.size() - 1);
            mark(Phase.DRIVER);
            node.onPersisted(last.index(), last.term());
            mark(Phase.ON_PERSISTED);
        }
        // 4. Apply.
        List<Entry> toApply = ready.committedEntries();
        if (!toApply.isEmpty()) {
            if (node == leader) {
                for (Entry e : toApply) {
                    if (e.type() == EntryType.COMMAND) {
                        committed++;
                    }
                }
            }
            mark(Phase.DRIVER);
            node.onApplied(toApply.get(toApply.size() - 1).index());
            mark(Phase.ON_APPLIED);
        }
        // 5. The benchmark issues no reads, so readStates and failedReads stay empty.
    }

    /** Queues messages for delivery (an indexed loop: ArrayDeque.addAll would allocate a lambda per call). */
    private void send(List<RaftMessage> messages) {
        for (int i = 0, n = messages.size(); i < n; i++) {
            network.addLast(messages.get(i));
        }
    }

    /** With --phases, charges the CPU time since the previous mark to {@code phase}. */
    private void mark(Phase phase) {
        if (phases != null) {
            phases.mark(phase);
        }
    }

    private static long seconds(double s) {
        return (long) (s * 1e9);
    }

    // ---------------------------------------------------------------------------------------------
    // Measurement and output
    // ---------------------------------------------------------------------------------------------

    /** The parts of a round that --phases tells apart. */
    private enum Phase {
        /** RaftNode.propose, on the leader. */
        PROPOSE,
        /** RaftNode.ready on every node: the leader's sending (Replication.flush), the entries to persist and to apply. */
        READY,
        /** MemoryLogStorage truncate, append and sync. */
        STORAGE_APPEND,
        /** RaftNode.onPersisted (on the leader, this may advance the commit index). */
        ON_PERSISTED,
        /** RaftNode.onApplied. */
        ON_APPLIED,
        /** RaftNode.step for every message delivered. */
        STEP,
        /** RaftNode.tick. */
        TICK,
        /** This benchmark's own bookkeeping: queues, counting, loops (and the clock reads themselves). */
        DRIVER
    }

    /**
     * CPU time of this thread by phase, read from the thread's CPU clock at each boundary. Reading
     * that clock is a system call (a few hundred ns here), so its measured cost is subtracted once
     * per interval charged to a phase; what remains is an estimate, not an exact figure.
     */
    private static final class Phases {
        private static final int CALIBRATION_READS = 20_000;

        private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        private final long[] nanos = new long[Phase.values().length];
        private final long[] intervals = new long[Phase.values().length];
        private long last = threads.getCurrentThreadCpuTime();
        private double readCostNanos;

        void mark(Phase phase) {
            long now = threads.getCurrentThreadCpuTime();
            nanos[phase.ordinal()] += now - last;
            intervals[phase.ordinal()]++;
            last = now;
        }

        /** Clears the counts and measures what one clock read costs. */
        void reset() {
            long start = threads.getCurrentThreadCpuTime();
            long sink = 0;
            for (int i = 0; i < CALIBRATION_READS; i++) {
                sink += threads.getCurrentThreadCpuTime();
            }
            long end = threads.getCurrentThreadCpuTime();
            readCostNanos = sink == 0 ? 0 : (double) (end - start) / (CALIBRATION_READS + 1);
            Arrays.fill(nanos, 0);
            Arrays.fill(intervals, 0);
            last = threads.getCurrentThreadCpuTime();
        }

        void print(long commits, long totalCpuNanos) {
            double overhead = 0;
            for (long n : intervals) {
                overhead += n * readCostNanos;
            }
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                    "CoreBenchmark phases, thread CPU ns per commit (clock read %.0f ns, %.0f ns/commit of reads"
                            + " subtracted):", readCostNanos, overhead / commits));
            double measured = totalCpuNanos - overhead;
            for (Phase p : Phase.values()) {
                double ns = Math.max(0, nanos[p.ordinal()] - intervals[p.ordinal()] * readCostNanos);
                sb.append(String.format(Locale.ROOT, " %s=%.1f (%.0f%%)", p.name().toLowerCase(Locale.ROOT),
                        ns / commits, 100.0 * ns / measured));
            }
            System.err.println(sb);
        }
    }

    /** Bytes allocated by the current thread, where the JVM can tell. */
    private static final class Allocation {
        private final com.sun.management.ThreadMXBean threads;

        private Allocation(com.sun.management.ThreadMXBean threads) {
            this.threads = threads;
        }

        static Allocation of(ThreadMXBean threads) {
            if (threads instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemorySupported()) {
                if (!t.isThreadAllocatedMemoryEnabled()) {
                    t.setThreadAllocatedMemoryEnabled(true);
                }
                return new Allocation(t);
            }
            return new Allocation(null);
        }

        /** Bytes allocated so far by the current thread, or -1 if unknown. */
        long currentThreadBytes() {
            return threads == null ? -1 : threads.getCurrentThreadAllocatedBytes();
        }
    }

    /**
     * What one measurement saw.
     *
     * @param commits          COMMAND entries the leader applied
     * @param wallNanos        elapsed time
     * @param cpuNanos         CPU time of the benchmark thread, which runs every node
     * @param processCpuNanos  CPU time of the whole JVM (adds GC and JIT), or -1 if unknown
     * @param allocatedBytes   bytes allocated by the benchmark thread, or -1 if unknown
     */
    private record Result(long commits, long wallNanos, long cpuNanos, long processCpuNanos, long allocatedBytes) {

        String toJson(Options o) {
            double seconds = wallNanos / 1e9;
            return String.format(Locale.ROOT,
                    "{\"nodes\":%d,\"inflight\":%d,\"payloadBytes\":%d,\"seconds\":%.1f,\"committed\":%d,"
                            + "\"commitsPerSecond\":%.0f,\"cpuMicrosPerCommit\":%.3f,\"wallMicrosPerCommit\":%.3f,"
                            + "\"processCpuMicrosPerCommit\":%s,\"allocatedBytesPerCommit\":%s}",
                    o.nodes, o.inflight, o.payloadBytes, seconds, commits, commits / seconds,
                    cpuNanos / 1e3 / commits, wallNanos / 1e3 / commits,
                    processCpuNanos < 0 ? "null" : String.format(Locale.ROOT, "%.3f", processCpuNanos / 1e3 / commits),
                    allocatedBytes < 0 ? "null" : String.format(Locale.ROOT, "%.1f", (double) allocatedBytes / commits));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Flags
    // ---------------------------------------------------------------------------------------------

    /** A flag the user got wrong; the message says which and why. */
    private static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    private static final class Options {
        int nodes = 3;
        int inflight = 256;
        int payloadBytes = 16;
        double warmupSeconds = 3;
        double seconds = 10;
        int tickEvery = 1000;
        long seed = 1;
        boolean phases;

        /** The options, or null if help was asked for. */
        static Options parse(String[] args) throws UsageException {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (flag.equals("--help") || flag.equals("-h")) {
                    return null;
                }
                if (flag.equals("--phases")) {
                    o.phases = true;
                    continue;
                }
                String value;
                int eq = flag.indexOf('=');
                if (flag.startsWith("--") && eq > 0) {
                    value = flag.substring(eq + 1);
                    flag = flag.substring(0, eq);
                } else {
                    if (i + 1 >= args.length) {
                        throw new UsageException(knownFlag(flag) + " needs a value");
                    }
                    value = args[++i];
                }
                switch (knownFlag(flag)) {
                    case "--nodes" -> o.nodes = intIn(flag, value, 1, 9);
                    case "--inflight" -> o.inflight = intIn(flag, value, 1, 1_000_000);
                    case "--payload" -> o.payloadBytes = intIn(flag, value, 0, 64 << 20);
                    case "--warmup-seconds" -> o.warmupSeconds = secondsIn(flag, value, 0);
                    case "--seconds" -> o.seconds = secondsIn(flag, value, 0.001);
                    case "--tick-every" -> o.tickEvery = intIn(flag, value, 1, Integer.MAX_VALUE);
                    case "--seed" -> o.seed = longOf(flag, value);
                    default -> throw new AssertionError(flag);
                }
            }
            return o;
        }

        private static String knownFlag(String flag) throws UsageException {
            switch (flag) {
                case "--nodes", "--inflight", "--payload", "--warmup-seconds", "--seconds", "--tick-every", "--seed":
                    return flag;
                default:
                    throw new UsageException("unknown flag '" + flag + "'");
            }
        }

        private static int intIn(String flag, String value, int min, int max) throws UsageException {
            long v = longOf(flag, value);
            if (v < min || v > max) {
                throw new UsageException(flag + " must be between " + min + " and " + max + ", was " + value);
            }
            return (int) v;
        }

        private static long longOf(String flag, String value) throws UsageException {
            try {
                return Long.parseLong(value.trim());
            } catch (NumberFormatException e) {
                throw new UsageException(flag + " needs a whole number, was '" + value + "'");
            }
        }

        private static double secondsIn(String flag, String value, double min) throws UsageException {
            double v;
            try {
                v = Double.parseDouble(value.trim());
            } catch (NumberFormatException e) {
                throw new UsageException(flag + " needs a number of seconds, was '" + value + "'");
            }
            if (!(v >= min) || v > 86_400 || Double.isNaN(v)) {
                throw new UsageException(flag + " must be between " + min + " and 86400 seconds, was " + value);
            }
            return v;
        }
    }
}
