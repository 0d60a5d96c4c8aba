package org.raftkit.examples.kv;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.raftkit.NotLeaderException;
import org.raftkit.RaftServer;
import org.raftkit.RaftStatus;
import org.raftkit.transport.netty.TlsConfig;

/**
 * {@code bench} (docs/BENCHMARKS.md): a cluster of KV nodes in this JVM on loopback, with the real Netty
 * transport and segmented storage in temporary directories, driven through {@code RaftServer.submit}
 * on the leader with a fixed number of writes in flight. A progress line goes to stderr every
 * second; the result is one JSON object on stdout (and in {@code --out FILE}). That is
 * {@code --mode in-jvm}, the default; {@code --mode reads} ({@link KvReadBench}) reads the same
 * cluster in every way instead of writing; {@code --mode processes} and {@code --mode failover} ({@link KvProcessBench})
 * and {@code --mode replace} and {@code --mode rolling-restart} ({@link KvMembershipBench}) run each
 * node in a process of its own instead.
 */
final class KvBench {

    /** The flags of every mode; {@link #PROCESS_FLAGS} only with a mode that runs a process per node. */
    static final Set<String> FLAGS;
    /**
     * Flags of the modes with a process per node; the nodes' tuning flags ({@link RaftFlags#NAMES}:
     * election timeout, snapshots, segments) go to every {@code serve} process as given.
     */
    static final Set<String> PROCESS_FLAGS;

    static {
        Set<String> processFlags = new java.util.HashSet<>(RaftFlags.NAMES);
        processFlags.remove("fsync");
        processFlags.addAll(List.of("connections", "target", "trace-every", "node-java-options", "node-jar", "kills", "dir",
                "phase", "stop", "pause", "floor"));
        PROCESS_FLAGS = Set.copyOf(processFlags);
        Set<String> all = new java.util.HashSet<>(processFlags);
        all.addAll(List.of("nodes", "clients", "payload", "duration", "warmup", "fsync", "out", "mode", "rounds"));
        FLAGS = Set.copyOf(all);
    }

    /** Distinct keys written, so the map stays a realistic size without growing without end. */
    private static final int KEYS = 100_000;

    private KvBench() {
    }

    static int run(Flags f, PrintStream out, PrintStream err) throws InterruptedException {
        f.expectPositional();
        String mode = f.string("mode", "in-jvm");
        if (!mode.equals("reads") && f.has("rounds")) {
            throw new Flags.UsageException("--rounds is for --mode reads");
        }
        switch (mode) {
            case "in-jvm", "reads" -> {
                for (String flag : PROCESS_FLAGS) {
                    if (f.has(flag)) {
                        throw new Flags.UsageException("--" + flag + " is for --mode processes, failover, replace or "
                                + "rolling-restart");
                    }
                }
                return inJvm(mode, f, out, err);
            }
            case "processes", "failover" -> {
                for (String flag : List.of("phase", "stop", "pause")) {
                    if (f.has(flag)) {
                        throw new Flags.UsageException("--" + flag + " is for --mode replace or rolling-restart");
                    }
                }
                return inProcesses(mode, f, out, err);
            }
            case "replace", "rolling-restart" -> {
                KvMembershipBench.checkFlags(mode, f);
                return inProcesses(mode, f, out, err);
            }
            default -> throw new Flags.UsageException("--mode must be in-jvm, reads, processes, failover, replace or "
                    + "rolling-restart, was '" + mode + "'");
        }
    }

    /** A mode with nodes in processes of their own ({@link KvProcessBench}, {@link KvMembershipBench}). */
    private static int inProcesses(String mode, Flags f, PrintStream out, PrintStream err) throws InterruptedException {
        if (f.has(TlsFlags.GENERATE)) {
            throw new Flags.UsageException("--tls is for --mode in-jvm");
        }
        String dirFlag = f.string("dir", null);
        Path base;
        try {
            base = dirFlag == null ? Files.createTempDirectory("raft-kv-bench")
                    : Files.createDirectories(Path.of(dirFlag)).resolve("bench-" + ProcessHandle.current().pid());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the benchmark's directory", e);
        }
        try {
            String json = switch (mode) {
                case "processes" -> KvProcessBench.processes(f, base, err);
                case "failover" -> KvProcessBench.failover(f, base, err);
                case "replace" -> KvMembershipBench.replace(f, base, err);
                default -> KvMembershipBench.rollingRestart(f, base, err);
            };
            out.println(json);
            String outFile = f.string("out", null);
            if (outFile != null) {
                Files.writeString(Path.of(outFile), json + "\n");
            }
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        } finally {
            if (dirFlag == null) {
                deleteTree(base);
            } else {
                err.println("bench: the nodes' data and logs (node.log) are in " + base);
            }
        }
    }

    /**
     * {@code --mode in-jvm} (the default): every node in this JVM, driven through {@code RaftServer.submit};
     * {@code --mode reads}: the same cluster, read in every way ({@link KvReadBench}).
     */
    private static int inJvm(String mode, Flags f, PrintStream out, PrintStream err) throws InterruptedException {
        int rounds = f.integer("rounds", 3, 1, 100);
        int nodes = f.integer("nodes", 3, 1, 9);
        int clients = f.integer("clients", 64, 1, 65_536);
        int payload = f.integer("payload", 128, 0, KvNode.DEFAULT_MAX_VALUE_BYTES);
        long durationMillis = f.millis("duration", 10_000);
        long warmupMillis = f.millis("warmup", 3_000);
        boolean fsync = f.bool("fsync", true);
        boolean tls = f.has(TlsFlags.GENERATE);
        String outFile = f.string("out", null);
        if (durationMillis <= 0) {
            throw new Flags.UsageException("--duration must be more than 0");
        }
        if (!fsync) {
            err.println("bench: fsync is OFF, for comparison only: a crash would lose acknowledged writes");
        }
        Path base;
        try {
            base = Files.createTempDirectory("raft-kv-bench");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary directory", e);
        }
        List<KvNode> cluster = new ArrayList<>();
        try {
            Map<String, InetSocketAddress> peers = new LinkedHashMap<>();
            for (int i = 1; i <= nodes; i++) {
                peers.put("n" + i, new InetSocketAddress("127.0.0.1", freePort()));
            }
            Map<String, TlsConfig> security = tls
                    ? TlsFlags.throwaway(base, KvNode.DEFAULT_CLUSTER_ID, List.copyOf(peers.keySet()), err)
                    : Map.of();
            for (String id : peers.keySet()) {
                cluster.add(KvNode.start(new KvNode.Settings(id, peers.get(id), null, peers, base.resolve(id), fsync,
                        KvNode.DEFAULT_MAX_VALUE_BYTES, KvNode.DEFAULT_CLUSTER_ID,
                        security.getOrDefault(id, TlsConfig.plaintext())), KvNode.loggingListener()));
            }
            String json = "{\"tls\":" + tls + "," + (mode.equals("reads")
                    ? KvReadBench.drive(cluster, clients, durationMillis, warmupMillis, rounds, err)
                    : drive(cluster, nodes, clients, payload, fsync, durationMillis, warmupMillis, err)).substring(1);
            out.println(json);
            if (outFile != null) {
                try {
                    Files.writeString(Path.of(outFile), json + "\n");
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write --out " + outFile, e);
                }
            }
            return 0;
        } finally {
            for (KvNode node : cluster) {
                node.close();
            }
            deleteTree(base);
        }
    }

    private static String drive(List<KvNode> cluster, int nodes, int clients, int payload, boolean fsync,
                                long durationMillis, long warmupMillis, PrintStream err) throws InterruptedException {
        byte[] value = new byte[payload];
        new SplittableRandom(42).nextBytes(value);
        String[] keys = new String[KEYS];
        RaftServer leader = awaitLeader(cluster);
        Semaphore inFlight = new Semaphore(clients);
        Recorder recorder = new Recorder();
        AtomicLong completed = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long start = System.nanoTime();
        long measureFrom = start + TimeUnit.MILLISECONDS.toNanos(warmupMillis);
        long end = measureFrom + TimeUnit.MILLISECONDS.toNanos(durationMillis);
        long nextProgress = start + TimeUnit.SECONDS.toNanos(1);
        long lastCompleted = 0;
        long seq = 0;
        while (true) {
            long now = System.nanoTime();
            if (now >= end) {
                break;
            }
            if (now >= nextProgress) {
                if (errors.get() > 0 && !leader.status().isLeader()) {
                    leader = awaitLeader(cluster); // leadership moved: follow it, once a second at most
                }
                long c = completed.get();
                err.printf("bench: %4.1f s  %,8d ops/s%s%n", (now - start) / 1e9, c - lastCompleted,
                        now < measureFrom ? "  (warm-up)" : "");
                lastCompleted = c;
                nextProgress += TimeUnit.SECONDS.toNanos(1);
            }
            if (!inFlight.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                continue;
            }
            int k = (int) (seq++ % KEYS);
            if (keys[k] == null) {
                keys[k] = "key-" + k;
            }
            byte[] command = KvCommand.put(keys[k], value,
                    KvCommand.Condition.NONE, 0);
            long sent = System.nanoTime();
            leader.submit(command).whenComplete((r, e) -> {
                long done = System.nanoTime();
                if (e == null) {
                    completed.incrementAndGet();
                    if (sent >= measureFrom && done <= end) {
                        recorder.record((done - sent) / 1_000);
                    }
                } else {
                    errors.incrementAndGet();
                }
                inFlight.release();
            });
        }
        inFlight.tryAcquire(clients, 30, TimeUnit.SECONDS);
        long[] latencies = recorder.sorted();
        double seconds = durationMillis / 1000.0;
        return "{\"nodes\":" + nodes + ",\"clients\":" + clients + ",\"payloadBytes\":" + payload
                + ",\"fsync\":" + fsync + ",\"durationSeconds\":" + seconds
                + ",\"operations\":" + latencies.length
                + ",\"opsPerSecond\":" + Math.round(latencies.length / seconds)
                + ",\"latencyMicros\":{\"p50\":" + percentile(latencies, 0.50) + ",\"p99\":" + percentile(latencies, 0.99)
                + ",\"p999\":" + percentile(latencies, 0.999) + ",\"max\":" + (latencies.length == 0 ? 0 : latencies[latencies.length - 1])
                + "},\"errors\":" + errors.get() + "}";
    }

    /** Waits up to 20 s for a leader among {@code cluster}. */
    static RaftServer awaitLeader(List<KvNode> cluster) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            for (KvNode node : cluster) {
                RaftStatus s = node.server().status();
                if (s.isLeader()) {
                    return node.server();
                }
            }
            Thread.sleep(20);
        }
        throw new NotLeaderException(null, "no leader was elected within 20 s");
    }

    static long percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free loopback port", e);
        }
    }

    static void deleteTree(Path base) {
        try (Stream<Path> walk = Files.walk(base)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | CompletionException e) {
            // Best effort: a leftover temporary directory is not worth failing the benchmark for.
        }
    }

    /** Latencies in microseconds, from any completing thread. */
    static final class Recorder {
        private long[] values = new long[1 << 16];
        private int size;

        synchronized void record(long micros) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = micros;
        }

        synchronized long[] sorted() {
            long[] copy = Arrays.copyOf(values, size);
            Arrays.sort(copy);
            return copy;
        }
    }
}
