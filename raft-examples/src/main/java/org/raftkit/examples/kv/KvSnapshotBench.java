package org.raftkit.examples.kv;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.raftkit.RaftConfig;
import org.raftkit.RaftServer;
import org.raftkit.RaftStatus;
import org.raftkit.SnapshotConfig;
import org.raftkit.storage.SegmentedLogStorage;
import org.raftkit.transport.netty.TlsConfig;

/**
 * {@code bench-snapshot} (docs/BENCHMARKS.md, "Snapshots"): three KV nodes in this JVM on loopback,
 * as {@code bench} runs them (Netty, segmented log, file snapshots, fsync on), measuring issue 10's
 * figures. Progress goes to stderr; the result is one JSON object on stdout (and in {@code --out}).
 *
 * <ul>
 * <li>{@code --mode snapshot}: writes {@code --keys} keys once, then measures, with no other load,
 *     the leader's snapshot (MB/s of snapshot file) and a wiped follower's InstallSnapshot (MB/s,
 *     from its start until it has installed and restored the snapshot) next to the disk floor
 *     (the same bytes written to a new file and fsync'd) and the loopback floor (the same bytes
 *     through one TCP connection), each measured in the same run. Then, with {@code --clients}
 *     writes in flight, {@code --rounds} rounds of four phases: no snapshot; snapshots taken back
 *     to back on the leader; no snapshot; a wiped follower installing the leader's snapshot. Each
 *     phase's write latencies are kept apart, so the p99s compare within one run.</li>
 * <li>{@code --mode restart}: {@code --writes} writes over {@code --keys} keys with snapshots on
 *     ({@code --snapshot-entries}, {@code --snapshot-trailing}, {@code --segment-bytes}), then each
 *     node's data directory against its budget (newest snapshot + trailing window + one segment),
 *     then each node in turn (a follower first, the leader last) closed and started again on its
 *     directory, timing from the start until it answers a linearizable read.</li>
 * </ul>
 * Runs on the calling thread; the nodes' own threads do the rest.
 */
final class KvSnapshotBench {

    static final Set<String> FLAGS = Set.of("mode", "keys", "writes", "payload", "clients", "phase", "rounds",
            "snapshot-entries", "snapshot-trailing", "segment-bytes", "chunk-bytes", "chunks-in-flight", "dir", "out",
            "processes", "node-jar", "node-java-options");
    private static final long DEADLINE_NANOS = TimeUnit.MINUTES.toNanos(10);
    private static final int FLOOR_WRITE_BYTES = 256 << 10;
    private static final int TCP_WRITE_BYTES = 1 << 20;

    private final PrintStream err;
    private final Path base;
    private final LinkedHashMap<String, InetSocketAddress> peers = new LinkedHashMap<>();
    /** The running nodes; read by the load's thread when leadership moves. */
    private final Map<String, KvNode> nodes = new java.util.concurrent.ConcurrentHashMap<>();
    private final KvNode.LogSettings logSettings;
    private final byte[] value;

    private KvSnapshotBench(PrintStream err, Path base, KvNode.LogSettings logSettings, int payload) {
        this.err = err;
        this.base = base;
        this.logSettings = logSettings;
        this.value = new byte[payload];
        new SplittableRandom(42).nextBytes(value);
        for (int i = 1; i <= 3; i++) {
            peers.put("n" + i, new InetSocketAddress("127.0.0.1", KvBench.freePort()));
        }
    }

    static int run(Flags f, PrintStream out, PrintStream err) throws InterruptedException, IOException {
        f.expectPositional();
        String mode = f.string("mode", "snapshot");
        boolean restart = mode.equals("restart");
        if (!restart && !mode.equals("snapshot")) {
            throw new Flags.UsageException("--mode takes snapshot or restart, was '" + mode + "'");
        }
        int keys = f.integer("keys", restart ? 100_000 : 1_000_000, 1, 100_000_000);
        long writes = f.longValue("writes", 10_000_000, 1, 1_000_000_000);
        int payload = f.integer("payload", 128, 0, KvNode.DEFAULT_MAX_VALUE_BYTES);
        int clients = f.integer("clients", 256, 1, 65_536);
        long phaseMillis = f.millis("phase", 10_000);
        int rounds = f.integer("rounds", 2, 1, 100);
        long trailing = f.longValue("snapshot-trailing", SnapshotConfig.DEFAULT_TRAILING_ENTRIES, 0, Long.MAX_VALUE);
        // In snapshot mode the bench takes every snapshot itself.
        long everyEntries = f.longValue("snapshot-entries", restart ? SnapshotConfig.DEFAULT_EVERY_ENTRIES : 1L << 60,
                1, Long.MAX_VALUE);
        long segmentBytes = f.bytes("segment-bytes", SegmentedLogStorage.Options.DEFAULT_SEGMENT_SIZE_BYTES);
        int chunkBytes = (int) f.bytes("chunk-bytes", SnapshotConfig.DEFAULT_CHUNK_BYTES);
        int chunksInFlight = f.integer("chunks-in-flight", SnapshotConfig.DEFAULT_CHUNKS_IN_FLIGHT, 1, 1024);
        String outFile = f.string("out", null);
        Path parent = Path.of(f.string("dir", System.getProperty("java.io.tmpdir")));
        boolean processes = f.bool("processes", false);
        if (!processes) {
            for (String flag : List.of("node-jar", "node-java-options")) {
                if (f.has(flag)) {
                    throw new Flags.UsageException("--" + flag + " is for --processes");
                }
            }
        } else {
            if (restart) {
                throw new Flags.UsageException("--processes is for --mode snapshot");
            }
            for (String flag : List.of("snapshot-entries", "snapshot-trailing", "segment-bytes", "chunk-bytes",
                    "chunks-in-flight")) {
                if (f.has(flag)) {
                    throw new Flags.UsageException("--" + flag + " is not for --processes, whose nodes run serve's defaults");
                }
            }
            Path dir = Files.createTempDirectory(Files.createDirectories(parent), "raft-kv-snapshot-bench");
            try {
                String json = KvSnapshotProcessBench.run(dir, keys, payload, clients, phaseMillis, rounds,
                        KvProcessBench.splitOptions(f.string("node-java-options", "")), KvProcessBench.nodeJar(f), err);
                out.println(json);
                if (outFile != null) {
                    Files.writeString(Path.of(outFile), json + "\n");
                }
                return 0;
            } finally {
                KvBench.deleteTree(dir);
            }
        }
        SnapshotConfig snapshots = SnapshotConfig.defaults()
                .withTriggers(everyEntries, restart ? SnapshotConfig.DEFAULT_EVERY_BYTES : 1L << 60,
                        restart ? SnapshotConfig.DEFAULT_INTERVAL_MILLIS : TimeUnit.HOURS.toMillis(24))
                .withTrailingEntries(trailing)
                .withChunks(chunkBytes, chunksInFlight);
        Path base = Files.createTempDirectory(Files.createDirectories(parent), "raft-kv-snapshot-bench");
        KvSnapshotBench bench = new KvSnapshotBench(err, base, new KvNode.LogSettings(snapshots, segmentBytes), payload);
        try {
            for (String id : bench.peers.keySet()) {
                bench.start(id);
            }
            String json = restart ? bench.restart(keys, writes, clients, trailing, segmentBytes)
                    : bench.snapshots(keys, clients, phaseMillis, rounds);
            out.println(json);
            if (outFile != null) {
                Files.writeString(Path.of(outFile), json + "\n");
            }
            return 0;
        } finally {
            for (KvNode node : bench.nodes.values()) {
                node.close();
            }
            KvBench.deleteTree(base);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // --mode snapshot
    // ---------------------------------------------------------------------------------------------

    private String snapshots(int keys, int clients, long phaseMillis, int rounds) throws InterruptedException,
            IOException {
        RaftServer leader = KvBench.awaitLeader(List.copyOf(nodes.values()));
        String leaderId = leader.status().id();
        String follower = peers.keySet().stream().filter(id -> !id.equals(leaderId)).findFirst().orElseThrow();
        try (Load load = new Load(leader, clients, keys)) {
            load.awaitCompleted(keys, "writing " + keys + " keys");
        }
        awaitAllApplied(leader.status().commitIndex());

        // Quiet: one snapshot, one install, and both floors, with no writes going on.
        long t = System.nanoTime();
        long snapshotIndex = leader.snapshot().join();
        double snapshotSeconds = seconds(t);
        long snapshotBytes = newestSnapshotBytes(leaderId);
        double installSeconds = wipeAndInstall(follower, snapshotIndex);
        double diskFloor = diskFloorMBps(snapshotBytes);
        double tcpFloor = tcpFloorMBps(snapshotBytes);
        err.printf("bench-snapshot: %,d-byte snapshot written in %.2f s, installed in %.2f s; disk floor %.0f MB/s, "
                + "loopback floor %.0f MB/s%n", snapshotBytes, snapshotSeconds, installSeconds, diskFloor, tcpFloor);

        StringBuilder phases = new StringBuilder();
        List<Double> snapshotRatios = new ArrayList<>();
        List<Double> installRatios = new ArrayList<>();
        try (Load load = new Load(leader, clients, keys)) {
            load.awaitCompleted(clients * 10L, "warm-up");
            for (int round = 1; round <= rounds; round++) {
                long quietP99 = phase(phases, round, "none", load, () -> sleepFor(phaseMillis));
                long[] taken = {0};
                long snapshotP99 = phase(phases, round, "snapshots", load, () -> {
                    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(phaseMillis);
                    while (System.nanoTime() < end) {
                        leader.snapshot().join();
                        taken[0]++;
                    }
                    return "\"snapshotsTaken\":" + taken[0];
                });
                long quietP99b = phase(phases, round, "none", load, () -> sleepFor(phaseMillis));
                // The install needs a leader whose log is compacted behind a snapshot. Leadership may
                // have moved since the snapshots were taken (a run of three loaded nodes in one JVM on
                // two cores sees elections): then the new leader has none, a wiped follower would catch
                // up from its log instead, and the wait for an installed snapshot would never end.
                RaftServer current = KvBench.awaitLeader(List.copyOf(nodes.values()));
                String currentId = current.status().id();
                long index = current.status().snapshotIndex();
                if (!currentId.equals(leaderId) || index == 0) {
                    err.printf("bench-snapshot: round %d: %s leads now, not %s; it takes a snapshot before the install%n",
                            round, currentId, leaderId);
                    index = current.snapshot().join();
                }
                String victim = currentId.equals(leaderId) ? follower
                        : peers.keySet().stream().filter(id -> !id.equals(currentId)).findFirst().orElseThrow();
                long installIndex = index;
                long installP99 = phase(phases, round, "install", load, () -> {
                    double s = wipeAndInstall(victim, installIndex);
                    return String.format(Locale.ROOT, "\"installSeconds\":%.2f,\"installMBPerSecond\":%.1f", s,
                            newestSnapshotBytes(currentId) / s / 1e6);
                });
                snapshotRatios.add(snapshotP99 / (double) quietP99);
                installRatios.add(installP99 / (double) quietP99b);
            }
        }
        return String.format(Locale.ROOT, "{\"mode\":\"snapshot\",\"keys\":%d,\"payloadBytes\":%d,\"clients\":%d,"
                        + "\"snapshotBytes\":%d,\"quiet\":{\"snapshotMBPerSecond\":%.1f,\"installMBPerSecond\":%.1f,"
                        + "\"diskFloorMBPerSecond\":%.1f,\"loopbackFloorMBPerSecond\":%.1f,\"snapshotOverDiskFloor\":%.2f,"
                        + "\"installOverLoopbackFloor\":%.2f,\"installOverDiskFloor\":%.2f},\"phases\":[%s],"
                        + "\"p99Ratios\":{\"snapshot\":%s,\"install\":%s}}",
                keys, value.length, clients, snapshotBytes, snapshotBytes / snapshotSeconds / 1e6,
                snapshotBytes / installSeconds / 1e6, diskFloor, tcpFloor,
                snapshotBytes / snapshotSeconds / 1e6 / diskFloor, snapshotBytes / installSeconds / 1e6 / tcpFloor,
                snapshotBytes / installSeconds / 1e6 / diskFloor, phases, ratios(snapshotRatios), ratios(installRatios));
    }

    /** What goes on during a phase; returns extra JSON fields for it. */
    private interface PhaseBody {
        String run() throws InterruptedException, IOException;
    }

    /** Runs one phase under {@code load}, appends its JSON to {@code phases}, returns its write p99 in µs. */
    private long phase(StringBuilder phases, int round, String during, Load load, PhaseBody body)
            throws InterruptedException, IOException {
        KvBench.Recorder recorder = new KvBench.Recorder();
        load.recordInto(recorder);
        long t = System.nanoTime();
        String extra = body.run();
        double seconds = seconds(t);
        load.recordInto(null);
        long[] latencies = recorder.sorted();
        long p99 = KvBench.percentile(latencies, 0.99);
        String json = String.format(Locale.ROOT, "{\"round\":%d,\"during\":\"%s\",\"seconds\":%.1f,\"writes\":%d,"
                        + "\"opsPerSecond\":%d,\"latencyMicros\":{\"p50\":%d,\"p99\":%d,\"max\":%d}%s}", round, during, seconds,
                latencies.length, Math.round(latencies.length / seconds), KvBench.percentile(latencies, 0.5), p99,
                latencies.length == 0 ? 0 : latencies[latencies.length - 1], extra.isEmpty() ? "" : "," + extra);
        err.println("bench-snapshot: " + json);
        phases.append(phases.length() == 0 ? "" : ",").append(json);
        return p99;
    }

    private static String sleepFor(long millis) throws InterruptedException {
        Thread.sleep(millis); // the phase's length: the load runs on other threads meanwhile
        return "";
    }

    /**
     * Closes {@code id}, deletes its data and starts it empty, so the leader must send it its
     * snapshot. Returns the seconds from the start until the node has installed and restored a
     * snapshot at {@code index} or later.
     */
    private double wipeAndInstall(String id, long index) throws InterruptedException {
        RaftServer leader = KvBench.awaitLeader(List.copyOf(nodes.values()));
        // Compaction follows the snapshot on the leader's own loops; give it a moment. A log that
        // still starts at 1 then is one the trailing window covers whole: an emptied follower
        // would catch up from it, and no snapshot would ever be installed.
        long compactedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (leader.status().firstLogIndex() <= 1) {
            if (System.nanoTime() > compactedBy) {
                throw new IllegalStateException("bench-snapshot: the leader's log still starts at index 1 after its "
                        + "snapshot at " + index + ", so a wiped follower would catch up from the log, not by "
                        + "InstallSnapshot; write more keys than --snapshot-trailing ("
                        + logSettings.snapshots().trailingEntries() + ")");
            }
            Thread.sleep(10);
        }
        nodes.remove(id).close();
        KvBench.deleteTree(dataDir(id));
        long t = System.nanoTime();
        RaftServer server = start(id).server();
        awaitCondition(() -> server.status().snapshotIndex() >= index && server.status().appliedIndex() >= index,
                id + " to install the snapshot at " + index);
        return seconds(t);
    }

    /** Bytes written to a new file in 256 KiB writes and fsync'd once, as the snapshot store does. */
    private double diskFloorMBps(long bytes) throws IOException {
        Path file = base.resolve("disk-floor.bin");
        byte[] buffer = new byte[FLOOR_WRITE_BYTES];
        new SplittableRandom(7).nextBytes(buffer);
        long t = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long left = bytes; left > 0; left -= FLOOR_WRITE_BYTES) {
                ByteBuffer b = ByteBuffer.wrap(buffer, 0, (int) Math.min(FLOOR_WRITE_BYTES, left));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            ch.force(true);
        }
        double mbps = bytes / seconds(t) / 1e6;
        Files.delete(file);
        return mbps;
    }

    /** Bytes sent through one loopback TCP connection in 1 MiB writes, until the reader has them all. */
    private static double tcpFloorMBps(long bytes) throws IOException, InterruptedException {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread reader = new Thread(() -> {
                try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
                    byte[] buffer = new byte[TCP_WRITE_BYTES];
                    long left = bytes;
                    while (left > 0) {
                        int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                        if (n < 0) {
                            throw new IOException("loopback floor: the connection ended " + left + " bytes early");
                        }
                        left -= n;
                    }
                } catch (IOException e) {
                    failed.set(e);
                }
            }, "bench-loopback-floor");
            reader.start();
            byte[] buffer = new byte[TCP_WRITE_BYTES];
            new SplittableRandom(8).nextBytes(buffer);
            long t = System.nanoTime();
            try (Socket s = new Socket(server.getInetAddress(), server.getLocalPort()); OutputStream out = s.getOutputStream()) {
                for (long left = bytes; left > 0; left -= buffer.length) {
                    out.write(buffer, 0, (int) Math.min(buffer.length, left));
                }
                out.flush();
                reader.join(TimeUnit.NANOSECONDS.toMillis(DEADLINE_NANOS));
            }
            double seconds = seconds(t);
            if (failed.get() != null) {
                throw new IOException(failed.get());
            }
            return bytes / seconds / 1e6;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // --mode restart
    // ---------------------------------------------------------------------------------------------

    private String restart(int keys, long writes, int clients, long trailing, long segmentBytes)
            throws InterruptedException {
        RaftServer leader = KvBench.awaitLeader(List.copyOf(nodes.values()));
        long t = System.nanoTime();
        try (Load load = new Load(leader, clients, keys)) {
            load.awaitCompleted(writes, "writing " + writes + " times over " + keys + " keys");
        }
        double writeSeconds = seconds(t);
        awaitAllApplied(leader.status().commitIndex());
        long commandBytes = KvCommand.put("key-" + (keys - 1), value, KvCommand.Condition.NONE, 0).length;
        // An entry on disk: its command and the record header (docs/STORAGE.md).
        long windowBytes = trailing * (commandBytes + 33);
        StringBuilder sizes = new StringBuilder();
        for (String id : peers.keySet()) {
            long snapshot = newestSnapshotBytes(id);
            long all = treeBytes(dataDir(id));
            long budget = snapshot + windowBytes + segmentBytes;
            sizes.append(sizes.length() == 0 ? "" : ",").append(String.format(Locale.ROOT,
                    "{\"id\":\"%s\",\"dataBytes\":%d,\"logBytes\":%d,\"snapshotsBytes\":%d,\"newestSnapshotBytes\":%d,"
                            + "\"budgetBytes\":%d,\"dataOverBudget\":%.2f,\"dataOverBudgetWithTwoSnapshots\":%.2f}",
                    id, all, treeBytes(dataDir(id).resolve("log")), treeBytes(dataDir(id).resolve(KvNode.SNAPSHOT_DIR)),
                    snapshot, budget, all / (double) budget, all / (double) (budget + snapshot)));
        }
        err.println("bench-snapshot: data directories " + sizes);
        String leaderId = leader.status().id();
        List<String> order = new ArrayList<>(peers.keySet());
        order.remove(leaderId);
        order.add(leaderId);
        StringBuilder restarts = new StringBuilder();
        for (String id : order) {
            boolean wasLeader = id.equals(leaderId);
            nodes.remove(id).close();
            long start = System.nanoTime();
            RaftServer server = start(id).server();
            double startedSeconds = seconds(start);
            awaitCondition(() -> answersLinearizableRead(server), id + " to answer a linearizable read");
            double readSeconds = seconds(start);
            RaftStatus s = server.status();
            String json = String.format(Locale.ROOT, "{\"id\":\"%s\",\"wasLeader\":%b,\"startSeconds\":%.3f,"
                            + "\"firstReadSeconds\":%.3f,\"snapshotIndex\":%d,\"firstLogIndex\":%d,\"lastLogIndex\":%d}",
                    id, wasLeader, startedSeconds, readSeconds, s.snapshotIndex(), s.firstLogIndex(), s.lastLogIndex());
            err.println("bench-snapshot: restart " + json);
            restarts.append(restarts.length() == 0 ? "" : ",").append(json);
            awaitAllApplied(KvBench.awaitLeader(List.copyOf(nodes.values())).status().commitIndex());
        }
        return String.format(Locale.ROOT, "{\"mode\":\"restart\",\"writes\":%d,\"keys\":%d,\"payloadBytes\":%d,"
                        + "\"clients\":%d,\"writeSeconds\":%.1f,\"snapshotEveryEntries\":%d,\"trailingEntries\":%d,"
                        + "\"segmentBytes\":%d,\"trailingWindowBytes\":%d,\"dataDirectories\":[%s],\"restarts\":[%s]}",
                writes, keys, value.length, clients, writeSeconds, logSettings.snapshots().everyEntries(), trailing,
                segmentBytes, windowBytes, sizes, restarts);
    }

    private static boolean answersLinearizableRead(RaftServer server) {
        try {
            server.read(KvCommand.get("key-0")).get(1, TimeUnit.SECONDS);
            return true;
        } catch (ExecutionException | TimeoutException e) {
            return false; // no leader yet, or still catching up: ask again
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The cluster
    // ---------------------------------------------------------------------------------------------

    private KvNode start(String id) {
        KvNode node = KvNode.start(new KvNode.Settings(id, peers.get(id), null, peers, dataDir(id), true,
                        KvNode.DEFAULT_MAX_VALUE_BYTES, KvNode.DEFAULT_CLUSTER_ID, TlsConfig.plaintext()),
                RaftConfig.defaults(), logSettings, Map.of(), KvNode.loggingListener());
        nodes.put(id, node);
        return node;
    }

    private Path dataDir(String id) {
        return base.resolve(id);
    }

    private void awaitAllApplied(long index) throws InterruptedException {
        awaitCondition(() -> nodes.values().stream().allMatch(n -> n.server().status().appliedIndex() >= index),
                "every node to apply " + index);
    }

    private interface Condition {
        boolean holds();
    }

    private static void awaitCondition(Condition condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE_NANOS;
        while (!condition.holds()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("bench-snapshot: gave up waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    private long newestSnapshotBytes(String id) {
        try (Stream<Path> files = Files.list(dataDir(id).resolve(KvNode.SNAPSHOT_DIR))) {
            // Names hold the index zero-padded, so the greatest name is the newest snapshot.
            Path newest = files.filter(p -> p.getFileName().toString().endsWith(".snap")).max(Path::compareTo)
                    .orElseThrow(() -> new IllegalStateException(id + " holds no snapshot"));
            return Files.size(newest);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long treeBytes(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    static String ratios(List<Double> ratios) {
        double[] sorted = ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return String.format(Locale.ROOT, "{\"each\":%s,\"max\":%.2f}", Arrays.toString(
                ratios.stream().map(r -> String.format(Locale.ROOT, "%.2f", r)).toArray()), sorted[sorted.length - 1]);
    }

    /**
     * Writes on the leader, {@code clients} in flight, cycling over {@code keys} keys, from its own
     * thread; latencies go to the recorder set by {@link #recordInto} when the write was sent.
     */
    private final class Load implements AutoCloseable {
        private volatile RaftServer leader;
        private final int clients;
        private final int keys;
        private final Semaphore inFlight;
        private final AtomicLong completed = new AtomicLong();
        private final AtomicLong failed = new AtomicLong();
        private final AtomicReference<KvBench.Recorder> recorder = new AtomicReference<>();
        private final Thread driver;
        private volatile boolean stopping;

        Load(RaftServer leader, int clients, int keys) {
            this.leader = leader;
            this.clients = clients;
            this.keys = keys;
            this.inFlight = new Semaphore(clients);
            this.driver = new Thread(this::drive, "bench-snapshot-load");
            driver.start();
        }

        private void drive() {
            String[] names = new String[keys];
            long seq = 0;
            long nextLeaderCheck = System.nanoTime();
            try {
                while (!stopping) {
                    if (failed.get() > 0 && System.nanoTime() > nextLeaderCheck) {
                        // Writes fail while leadership moves: follow it, once a second at most.
                        nextLeaderCheck = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
                        if (!leader.status().isLeader()) {
                            leader = KvBench.awaitLeader(List.copyOf(nodes.values()));
                        }
                    }
                    if (!inFlight.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                        continue;
                    }
                    int k = (int) (seq++ % keys);
                    if (names[k] == null) {
                        names[k] = "key-" + k;
                    }
                    KvBench.Recorder r = recorder.get();
                    long sent = System.nanoTime();
                    leader.submit(KvCommand.put(names[k], value, KvCommand.Condition.NONE, 0)).whenComplete((x, e) -> {
                        if (e == null) {
                            completed.incrementAndGet();
                            if (r != null) {
                                r.record((System.nanoTime() - sent) / 1_000);
                            }
                        } else {
                            failed.incrementAndGet();
                        }
                        inFlight.release();
                    });
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void recordInto(KvBench.Recorder next) {
            recorder.set(next);
        }

        /** Waits until {@code count} writes completed, printing progress every few seconds. */
        void awaitCompleted(long count, String what) throws InterruptedException {
            long start = System.nanoTime();
            long nextReport = start + TimeUnit.SECONDS.toNanos(5);
            while (completed.get() < count) {
                if (System.nanoTime() > nextReport) {
                    err.printf("bench-snapshot: %s: %,d done (%,d failed) in %.0f s%n", what, completed.get(),
                            failed.get(), seconds(start));
                    nextReport += TimeUnit.SECONDS.toNanos(5);
                }
                if (System.nanoTime() - start > DEADLINE_NANOS * 6) {
                    throw new IllegalStateException("bench-snapshot: " + what + " took over an hour");
                }
                Thread.sleep(20);
            }
        }

        /** Stops sending and waits for the writes in flight. */
        @Override
        public void close() throws InterruptedException {
            stopping = true;
            driver.join();
            inFlight.tryAcquire(clients, 60, TimeUnit.SECONDS);
        }
    }
}
