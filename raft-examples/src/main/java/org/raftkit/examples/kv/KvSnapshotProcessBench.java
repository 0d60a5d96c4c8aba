package org.raftkit.examples.kv;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.raftkit.SnapshotConfig;

/**
 * {@code bench-snapshot --processes} (docs/BENCHMARKS.md, "Snapshots"): issue 10's write-p99
 * figures in the shape users deploy, each node a {@code serve} process of its own (its own heap,
 * garbage collector and JIT), the load over HTTP from this process, as {@code bench --mode
 * processes} runs it. In one JVM, a node restoring a million keys pauses the other two with it; in
 * processes it pauses only itself, and the leader commits with the other follower.
 *
 * <p>One long load ({@link HttpLoad}, {@code --clients} PUTs in flight on the leader, cycling over
 * {@code --keys} keys) and, from this thread, the phases; each write counts in the phase it was
 * sent in. First the load writes every key once. Then {@code --rounds} rounds of four phases:
 * <ol>
 *   <li>{@code none}: {@code --phase} with no snapshot;</li>
 *   <li>{@code snapshots}: {@code POST /v1/admin/snapshot} on the leader back to back for {@code --phase};</li>
 *   <li>{@code none} again;</li>
 *   <li>{@code install}: a follower takes a snapshot of its own (as its triggers would have it
 *       do) and is killed with {@code kill -9}; the leader goes on with the
 *       other for a second, and longer if it has not yet written a trailing window
 *       ({@link SnapshotConfig#DEFAULT_TRAILING_ENTRIES}) past the dead one, then takes a snapshot
 *       (so it has compacted past the dead one),
 *       and the follower is started again on its data: the phase runs from that start until the
 *       follower has installed the leader's snapshot and applied up to it. The time between the
 *       kill and the start counts in no phase, nor does the follower's catching up with the log
 *       after the install, which the next round waits for.</li>
 * </ol>
 * The nodes take no snapshot unless asked ({@code --snapshot-entries} and {@code --snapshot-bytes}
 * out of reach, {@code --snapshot-interval} a day), so a {@code none} phase has none.
 */
final class KvSnapshotProcessBench {

    private static final long ONE_SECOND_MILLIS = 1_000;
    /** Serve flags that keep a node from taking snapshots on its own. */
    private static final List<String> NO_AUTOMATIC_SNAPSHOTS = List.of("--snapshot-entries", "1000000000000000",
            "--snapshot-bytes", "1000000000000000", "--snapshot-interval", "24h");

    /** One phase: what went on, and when (System.nanoTime). */
    private record Phase(int round, String during, long startNanos, long endNanos, String extra) {
    }

    private final ServeProcesses nodes;
    private final PrintStream err;

    private KvSnapshotProcessBench(ServeProcesses nodes, PrintStream err) {
        this.nodes = nodes;
        this.err = err;
    }

    static String run(Path dir, int keys, int payload, int clients, long phaseMillis, int rounds, List<String> jvmFlags,
                      Path nodeJar, PrintStream err) throws InterruptedException, IOException {
        KvSnapshotProcessBench bench = new KvSnapshotProcessBench(
                new ServeProcesses(dir, NO_AUTOMATIC_SNAPSHOTS, jvmFlags, nodeJar, err), err);
        try {
            return bench.measure(keys, payload, clients, phaseMillis, rounds);
        } finally {
            bench.nodes.stopAll();
        }
    }

    private String measure(int keys, int payload, int clients, long phaseMillis, int rounds)
            throws InterruptedException, IOException {
        nodes.startAll();
        String leader = nodes.awaitLeader();
        ClusterLauncher.Member leaderMember = nodes.member(leader);
        HttpLoad load = new HttpLoad(List.of(leaderMember.http()), Math.max(1, (clients + 31) / 32), clients, payload,
                keys);
        AtomicReference<HttpLoad.Result> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread loader = new Thread(() -> {
            try {
                result.set(load.run(0, TimeUnit.DAYS.toNanos(1), new HttpLoad.Window() {
                    @Override
                    public void opened() {
                    }

                    @Override
                    public void closed() {
                    }
                }));
            } catch (IOException | RuntimeException e) {
                failure.set(e);
            }
        }, "bench-snapshot-load");
        loader.start();
        List<Phase> phases = new ArrayList<>();
        try {
            long filled = awaitCommitted(leaderMember, keys + 1L, loader, failure);
            err.printf("bench-snapshot: %,d keys written (commit index %,d)%n", keys, filled);
            for (int round = 1; round <= rounds; round++) {
                phases.add(quiet(round, phaseMillis));
                long start = System.nanoTime();
                long end = start + TimeUnit.MILLISECONDS.toNanos(phaseMillis);
                int taken = 0;
                while (System.nanoTime() < end) {
                    nodes.admin("POST", KvHttpHandler.SNAPSHOT_PATH, null);
                    taken++;
                }
                phases.add(new Phase(round, "snapshots", start, System.nanoTime(), "\"snapshotsTaken\":" + taken));
                phases.add(quiet(round, phaseMillis));
                phases.add(install(round, leader, loader, failure));
            }
        } finally {
            load.stop();
            loader.join(TimeUnit.SECONDS.toMillis(30));
        }
        if (failure.get() != null) {
            throw new IOException("the load failed: " + failure.get().getMessage(), failure.get());
        }
        String still = nodes.awaitLeader();
        if (!still.equals(leader)) {
            err.printf("bench-snapshot: leadership moved from %s to %s during the run; the load went to %s%n", leader,
                    still, leader);
        }
        return json(result.get(), phases, keys, payload, clients, leader, still);
    }

    private Phase quiet(int round, long phaseMillis) throws InterruptedException {
        long start = System.nanoTime();
        Thread.sleep(phaseMillis); // the load runs on its own thread meanwhile
        return new Phase(round, "none", start, System.nanoTime(), "");
    }

    /**
     * Kills a follower, lets the leader compact past it, starts it again and waits until it has
     * installed the leader's snapshot: the phase is from the start to the install.
     */
    private Phase install(int round, String leader, Thread loader, AtomicReference<Throwable> failure)
            throws InterruptedException, IOException {
        ClusterLauncher.Member victim = nodes.members.stream().filter(m -> !m.id().equals(leader)).findFirst()
                .orElseThrow();
        ClusterLauncher.Member leaderMember = nodes.member(leader);
        // As every node would with its own triggers: the follower has a recent snapshot of its own,
        // so that its restart loads it instead of replaying its whole log.
        nodes.post(victim, KvHttpHandler.SNAPSHOT_PATH);
        Process p = nodes.processes.remove(victim.id());
        p.destroyForcibly().waitFor();
        // Writes go on with the other follower. The dead one's log must end before the log the
        // leader keeps behind its next snapshot (the trailing window), or it would catch up from
        // the log: at least a second, and until the leader is a window and more past it.
        String before = nodes.status(leaderMember);
        long goal = (before == null ? 0 : Long.parseLong(Json.field(before, "commitIndex")))
                + SnapshotConfig.DEFAULT_TRAILING_ENTRIES + 1_000;
        Thread.sleep(ONE_SECOND_MILLIS);
        awaitCommitted(leaderMember, goal, loader, failure);
        String taken = nodes.admin("POST", KvHttpHandler.SNAPSHOT_PATH, null);
        long index = Long.parseLong(Json.field(taken, "snapshotIndex"));
        int installsBefore = nodes.count(victim, " installed the snapshot at index ");
        long start = System.nanoTime();
        nodes.start(victim, nodes.members, false);
        long deadline = start + TimeUnit.MILLISECONDS.toNanos(ServeProcesses.WAIT_MILLIS);
        while (true) {
            String s = nodes.status(victim);
            if (s != null && Long.parseLong(Json.field(s, "snapshotIndex")) >= index
                    && Long.parseLong(Json.field(s, "appliedIndex")) >= index) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(victim.id() + " did not install the snapshot at " + index + " within "
                        + ServeProcesses.WAIT_MILLIS + " ms; see " + victim.dataDir().resolve("node.log"));
            }
            Thread.sleep(5);
        }
        long end = System.nanoTime();
        nodes.awaitCaughtUp(victim, leaderMember); // before the next round's quiet phase, outside any phase
        int installs = nodes.count(victim, " installed the snapshot at index ") - installsBefore;
        return new Phase(round, "install", start, end, String.format(Locale.ROOT,
                "\"follower\":\"%s\",\"snapshotIndex\":%d,\"installSeconds\":%.2f,\"installedBySnapshot\":%b",
                victim.id(), index, (end - start) / 1e9, installs > 0));
    }

    /**
     * Waits until {@code leader} has committed {@code index} under the load; returns its commit
     * index. Fails if the load stops, or if the commit index does not move for
     * {@link ServeProcesses#WAIT_MILLIS} (a progress deadline: filling a million keys takes longer).
     */
    private long awaitCommitted(ClusterLauncher.Member leader, long index, Thread loader,
                                AtomicReference<Throwable> failure) throws InterruptedException, IOException {
        long last = -1;
        long deadline = 0;
        while (true) {
            String s = nodes.status(leader);
            long commit = s == null ? 0 : Long.parseLong(Json.field(s, "commitIndex"));
            if (commit >= index) {
                return commit;
            }
            if (!loader.isAlive()) {
                throw new IOException("the load stopped before " + leader.id() + " committed index " + index + ": "
                        + failure.get());
            }
            long now = System.nanoTime();
            if (commit > last) {
                last = commit;
                deadline = now + TimeUnit.MILLISECONDS.toNanos(ServeProcesses.WAIT_MILLIS);
            } else if (now > deadline) {
                throw new IllegalStateException(leader.id() + " committed nothing past index " + commit + " for "
                        + ServeProcesses.WAIT_MILLIS + " ms; see its node.log");
            }
            Thread.sleep(20);
        }
    }

    private String json(HttpLoad.Result r, List<Phase> phases, int keys, int payload, int clients, String leader,
                        String leaderAfter) {
        StringBuilder out = new StringBuilder();
        long[] p99 = new long[phases.size()];
        for (int i = 0; i < phases.size(); i++) {
            Phase ph = phases.get(i);
            long[] lat = latenciesSentIn(r, ph.startNanos(), ph.endNanos());
            double seconds = (ph.endNanos() - ph.startNanos()) / 1e9;
            p99[i] = KvBench.percentile(lat, 0.99);
            String one = String.format(Locale.ROOT, "{\"round\":%d,\"during\":\"%s\",\"seconds\":%.1f,\"writes\":%d,"
                            + "\"opsPerSecond\":%d,\"latencyMicros\":{\"p50\":%d,\"p99\":%d,\"max\":%d}%s}", ph.round(),
                    ph.during(), seconds, lat.length, Math.round(lat.length / seconds), KvBench.percentile(lat, 0.5), p99[i],
                    lat.length == 0 ? 0 : lat[lat.length - 1], ph.extra().isEmpty() ? "" : "," + ph.extra());
            err.println("bench-snapshot: " + one);
            out.append(i == 0 ? "" : ",").append(one);
        }
        // Each round is none, snapshots, none, install: each loaded phase against the quiet one before it.
        List<Double> snapshotRatios = new ArrayList<>();
        List<Double> installRatios = new ArrayList<>();
        for (int i = 0; i + 3 < phases.size(); i += 4) {
            snapshotRatios.add(p99[i + 1] / (double) Math.max(1, p99[i]));
            installRatios.add(p99[i + 3] / (double) Math.max(1, p99[i + 2]));
        }
        return String.format(Locale.ROOT, "{\"mode\":\"snapshot\",\"processes\":true,\"keys\":%d,\"payloadBytes\":%d,"
                        + "\"clients\":%d,\"leader\":\"%s\",\"leaderAfter\":\"%s\",\"errors\":%d,"
                        + "\"phases\":[%s],\"p99Ratios\":{\"snapshot\":%s,\"install\":%s},\"loadAverage\":%s}",
                keys, payload, clients, leader, leaderAfter, r.failed(), out,
                KvSnapshotBench.ratios(snapshotRatios), KvSnapshotBench.ratios(installRatios),
                KvProcessBench.loadAverage());
    }

    /** The latencies (µs, sorted) of the writes sent in [start, end). */
    static long[] latenciesSentIn(HttpLoad.Result r, long start, long end) {
        long[] sent = r.sentAtNanos();
        long[] lat = r.latencyMicros();
        long[] picked = new long[lat.length];
        int n = 0;
        for (int i = 0; i < lat.length; i++) {
            if (sent[i] - start >= 0 && sent[i] - end < 0) {
                picked[n++] = lat[i];
            }
        }
        long[] sorted = Arrays.copyOf(picked, n);
        Arrays.sort(sorted);
        return sorted;
    }
}
