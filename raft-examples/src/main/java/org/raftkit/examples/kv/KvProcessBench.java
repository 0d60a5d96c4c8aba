package org.raftkit.examples.kv;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.raftkit.RaftConfig;

/**
 * {@code bench --mode processes} and {@code bench --mode failover} (docs/BENCHMARKS.md): the KV
 * store as it is deployed, each node a {@code serve} process of its own (a JVM, the real Netty
 * transport, segmented storage in {@code --dir}), driven over loopback through the HTTP API.
 *
 * <ul>
 *   <li>{@code processes}: {@link HttpLoad} keeps {@code --clients} {@code PUT}s in flight from this
 *       process; after {@code --warmup} it measures for {@code --duration} and prints one JSON
 *       object with ops/s, latency percentiles and the CPU time of every process (each node and
 *       this one, from {@code /proc/<pid>/stat}) per completed write.</li>
 *   <li>{@code failover}: a light write load (one write at a time to each node in turn), and
 *       {@code --kills} times: find the leader, {@code kill -9} it, and time from the kill to the
 *       first write that succeeds through a node that was a follower; then restart the killed node
 *       and wait until it has applied what the leader had committed.</li>
 * </ul>
 * The nodes are stopped (politely, then forcibly) when the benchmark ends, and each node's log is
 * {@code node.log} in its data directory.
 */
final class KvProcessBench {

    /** The node processes. */
    private final ServeProcesses nodes;
    private final List<ClusterLauncher.Member> members;
    private final Map<String, Process> processes;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500))
            .version(HttpClient.Version.HTTP_1_1).build();
    private final PrintStream err;

    private KvProcessBench(int nodes, Path dir, List<String> serveFlags, List<String> jvmFlags, Path nodeJar,
                           PrintStream err) {
        this.nodes = new ServeProcesses(nodes, dir, serveFlags, jvmFlags, nodeJar, err);
        this.members = this.nodes.members;
        this.processes = this.nodes.processes;
        this.err = err;
    }

    // ---------------------------------------------------------------------------------------------
    // bench --mode processes
    // ---------------------------------------------------------------------------------------------

    /** Runs the deployment-shaped load; returns the JSON result. */
    static String processes(Flags f, Path dir, PrintStream err) throws InterruptedException, IOException {
        int nodes = f.integer("nodes", 3, 1, 9);
        int clients = f.integer("clients", 64, 1, 65_536);
        int payload = f.integer("payload", 128, 0, KvNode.DEFAULT_MAX_VALUE_BYTES);
        int connections = f.integer("connections", Math.max(1, (clients + 31) / 32), 1, clients);
        long durationMillis = f.millis("duration", 10_000);
        long warmupMillis = f.millis("warmup", 3_000);
        boolean fsync = f.bool("fsync", true);
        String target = f.string("target", "leader");
        if (!target.equals("leader") && !target.equals("all")) {
            throw new Flags.UsageException("--target must be leader or all, was '" + target + "'");
        }
        if ((clients + connections - 1) / connections > HttpLimits.DEFAULTS.maxPipelined()) {
            throw new Flags.UsageException("--clients " + clients + " over --connections " + connections + " is more than "
                    + HttpLimits.DEFAULTS.maxPipelined() + " pipelined requests a connection, which a node does not read");
        }
        int traceEvery = f.integer("trace-every", 0, 0, 1_000_000);
        boolean floor = f.bool("floor", clients == 1 && fsync);
        List<String> jvm = new ArrayList<>(splitOptions(f.string("node-java-options", "")));
        if (traceEvery > 0) {
            jvm.add("-Draftkit.trace.every=" + traceEvery);
            jvm.add("-Draftkit.trace.afterMillis=" + warmupMillis);
        }
        KvProcessBench bench = new KvProcessBench(nodes, dir, RaftFlags.forServe(f), jvm, nodeJar(f), err);
        try {
            bench.nodes.startAll();
            String leader = bench.nodes.awaitLeader();
            List<InetSocketAddress> targets = target.equals("leader")
                    ? List.of(bench.nodes.member(leader).http()) : bench.members.stream().map(ClusterLauncher.Member::http).toList();
            HttpLoad load = new HttpLoad(targets, connections, clients, payload);
            long[] cpuBefore = new long[nodes + 1];
            long[] cpuAfter = new long[nodes + 1];
            List<Map<Long, ProcStat.ThreadUse>> threadsBefore = new ArrayList<>();
            List<Map<Long, ProcStat.ThreadUse>> threadsAfter = new ArrayList<>();
            HttpLoad.Result r = load.run(TimeUnit.MILLISECONDS.toNanos(warmupMillis),
                    TimeUnit.MILLISECONDS.toNanos(durationMillis), new HttpLoad.Window() {
                        @Override
                        public void opened() {
                            bench.readCpu(cpuBefore, threadsBefore);
                        }

                        @Override
                        public void closed() {
                            bench.readCpu(cpuAfter, threadsAfter);
                        }
                    });
            String still = bench.nodes.awaitLeader();
            bench.nodes.stopAll();
            List<String> traces = traceEvery > 0 ? bench.nodes.stageTraces() : List.of();
            // With the nodes stopped, so that they do not compete with it; on the nodes' file system.
            OneWriteFloor.Result floorResult = floor ? OneWriteFloor.measure(dir.resolve("floor"), payload, 2_000, 5_000)
                    : null;
            double seconds = r.windowNanos() / 1e9;
            long[] lat = r.sortedLatencyMicros();
            StringBuilder cpu = new StringBuilder();
            long totalCpu = 0;
            for (int i = 0; i <= nodes; i++) {
                long used = cpuAfter[i] - cpuBefore[i];
                totalCpu += used;
                String name = i < nodes ? bench.members.get(i).id() : "loadGenerator";
                cpu.append(i == 0 ? "" : ",").append('"').append(name).append("\":")
                        .append(round2(perCommand(used, r.completed())));
            }
            StringBuilder byThread = new StringBuilder();
            long jitCpu = 0;
            for (int i = 0; i <= nodes; i++) {
                jitCpu += groupCpu(threadsBefore.get(i), threadsAfter.get(i), "C1 CompilerThre")
                        + groupCpu(threadsBefore.get(i), threadsAfter.get(i), "C2 CompilerThre");
            }
            for (int i = 0; i <= nodes; i++) {
                String name = i < nodes ? bench.members.get(i).id() : "loadGenerator";
                byThread.append(i == 0 ? "" : ",").append('"').append(name).append("\":")
                        .append(threadUse(threadsBefore.get(i), threadsAfter.get(i), r.completed()));
            }
            String json = "{\"mode\":\"processes\",\"nodes\":" + nodes + ",\"clients\":" + clients + ",\"connections\":"
                    + connections + ",\"target\":\"" + target + "\",\"payloadBytes\":" + payload + ",\"fsync\":" + fsync
                    + ",\"serveFlags\":\"" + String.join(" ", RaftFlags.forServe(f)) + "\""
                    + ",\"nodeJar\":" + (bench.nodes.nodeJar() == null ? "null" : Json.quote(bench.nodes.nodeJar().toString()))
                    + ",\"warmupSeconds\":" + warmupMillis / 1000.0 + ",\"durationSeconds\":" + seconds
                    + ",\"operations\":" + r.completed() + ",\"opsPerSecond\":" + Math.round(r.completed() / seconds)
                    + ",\"latencyMicros\":{\"p50\":" + KvBench.percentile(lat, 0.50) + ",\"p99\":" + KvBench.percentile(lat, 0.99)
                    + ",\"p999\":" + KvBench.percentile(lat, 0.999) + ",\"max\":" + (lat.length == 0 ? 0 : lat[lat.length - 1])
                    + "},\"cpuMicrosPerCommand\":" + round2(perCommand(totalCpu, r.completed()))
                    + ",\"jitCpuMicrosPerCommand\":" + round2(perCommand(jitCpu, r.completed()))
                    + ",\"cpuMicrosPerCommandWithoutJit\":" + round2(perCommand(totalCpu - jitCpu, r.completed()))
                    + ",\"cpuMicrosPerCommandByProcess\":{" + cpu + "},\"byThread\":{" + byThread + "},\"cpuCoresBusy\":" + round2(totalCpu / (double) r.windowNanos())
                    + ",\"errors\":" + r.failed() + ",\"errorsByStatus\":" + Json.quote(r.failedByStatus().toString()) + ",\"leaderBefore\":\"" + leader + "\",\"leaderAfter\":\"" + still + "\""
                    + ",\"loadAverage\":" + loadAverage()
                    + (floorResult == null ? "" : ",\"floor\":" + floorResult.json() + ",\"p50OverFloor\":"
                            + round2(KvBench.percentile(lat, 0.50) / floorResult.floorMicros()))
                    + (traceEvery > 0 ? ",\"stageTrace\":[" + String.join(",", traces) + "]" : "") + "}";
            return json;
        } finally {
            bench.nodes.stopAll();
        }
    }

    private static double perCommand(long cpuNanos, long commands) {
        return commands == 0 ? 0 : cpuNanos / 1_000.0 / commands;
    }

    private static double round2(double v) {
        return Math.round(v * 100) / 100.0;
    }

    /** The 1-minute load average from {@code /proc/loadavg}, or -1 where there is none. */
    static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** CPU time the threads of {@code group} used between the two readings. */
    static long groupCpu(Map<Long, ProcStat.ThreadUse> before, Map<Long, ProcStat.ThreadUse> after, String group) {
        long used = 0;
        for (Map.Entry<Long, ProcStat.ThreadUse> e : after.entrySet()) {
            if (e.getValue().group().equals(group)) {
                ProcStat.ThreadUse then = before.get(e.getKey());
                used += e.getValue().cpuNanos() - (then == null ? 0 : then.cpuNanos());
            }
        }
        return used;
    }

    /**
     * Each thread group's CPU time per command (µs) and context switches per command over the
     * window, largest first, leaving out groups under 0.5 µs: {@code {"cpu":{...},"switches":{...}}}.
     */
    static String threadUse(Map<Long, ProcStat.ThreadUse> before, Map<Long, ProcStat.ThreadUse> after, long commands) {
        Map<String, long[]> byGroup = new java.util.TreeMap<>();
        for (Map.Entry<Long, ProcStat.ThreadUse> e : after.entrySet()) {
            ProcStat.ThreadUse then = before.get(e.getKey());
            long[] sum = byGroup.computeIfAbsent(e.getValue().group(), g -> new long[2]);
            sum[0] += e.getValue().cpuNanos() - (then == null ? 0 : then.cpuNanos());
            sum[1] += e.getValue().contextSwitches() - (then == null ? 0 : then.contextSwitches());
        }
        List<Map.Entry<String, long[]>> sorted = new ArrayList<>(byGroup.entrySet());
        sorted.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]));
        StringBuilder cpu = new StringBuilder();
        StringBuilder switches = new StringBuilder();
        long totalSwitches = 0;
        for (Map.Entry<String, long[]> e : sorted) {
            totalSwitches += e.getValue()[1];
            double micros = perCommand(e.getValue()[0], commands);
            if (micros < 0.5) {
                continue;
            }
            cpu.append(cpu.length() == 0 ? "" : ",").append(Json.quote(e.getKey())).append(':').append(round2(micros));
            switches.append(switches.length() == 0 ? "" : ",").append(Json.quote(e.getKey())).append(':')
                    .append(round2(commands == 0 ? 0 : e.getValue()[1] / (double) commands));
        }
        return "{\"cpu\":{" + cpu + "},\"switchesPerCommand\":" + round2(commands == 0 ? 0 : totalSwitches / (double) commands)
                + ",\"switches\":{" + switches + "}}";
    }

    /**
     * Each node's CPU time, then this process's, into {@code into}, and each one's threads into
     * {@code threads}; a node that is gone counts 0.
     */
    private void readCpu(long[] into, List<Map<Long, ProcStat.ThreadUse>> threads) {
        threads.clear();
        for (int i = 0; i < members.size(); i++) {
            Process p = processes.get(members.get(i).id());
            threads.add(p == null ? Map.of() : ProcStat.threads(p.pid()));
        }
        threads.add(ProcStat.threads(ProcessHandle.current().pid()));
        readCpu(into);
    }

    /** Each node's CPU time, then this process's, into {@code into}; a node that is gone counts 0. */
    private void readCpu(long[] into) {
        for (int i = 0; i < members.size(); i++) {
            Process p = processes.get(members.get(i).id());
            try {
                into[i] = p == null ? 0 : ProcStat.cpuNanos(p.pid());
            } catch (IOException e) {
                into[i] = 0;
            }
        }
        try {
            into[members.size()] = ProcStat.cpuNanos(ProcessHandle.current().pid());
        } catch (IOException e) {
            into[members.size()] = 0;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // bench --mode failover
    // ---------------------------------------------------------------------------------------------

    /** Kills the leader {@code --kills} times under a light load; returns the JSON result. */
    static String failover(Flags f, Path dir, PrintStream err) throws InterruptedException, IOException {
        for (String flag : List.of("nodes", "clients", "payload", "duration", "warmup", "connections", "target",
                "trace-every", "floor")) {
            if (f.has(flag)) {
                throw new Flags.UsageException("--" + flag + " is for --mode processes; failover runs three nodes "
                        + "under a light load of its own");
            }
        }
        int kills = f.integer("kills", 20, 1, 1000);
        boolean fsync = f.bool("fsync", true);
        List<String> jvm = splitOptions(f.string("node-java-options", ""));
        RaftConfig config = RaftFlags.config(f);
        KvProcessBench bench = new KvProcessBench(3, dir, RaftFlags.forServe(f), jvm, nodeJar(f), err);
        AtomicBoolean loading = new AtomicBoolean(true);
        long[] failoverMicros = new long[kills];
        long[] catchUpMillis = new long[kills];
        int[] attempts = new int[kills];
        Thread background = null;
        try {
            bench.nodes.startAll();
            bench.nodes.awaitLeader();
            background = new Thread(() -> bench.lightLoad(loading), "bench-light-load");
            background.setDaemon(true);
            background.start();
            for (int k = 0; k < kills; k++) {
                String leader = bench.nodes.awaitLeader();
                ClusterLauncher.Member follower = bench.members.stream().filter(m -> !m.id().equals(leader))
                        .toList().get(k % 2);
                Thread.sleep(200); // let the light load put writes in flight on the leader
                Process victim = bench.processes.get(leader);
                long killedAt = System.nanoTime();
                victim.destroyForcibly(); // SIGKILL: no shutdown hook, no goodbye to the others
                int tries = 0;
                long deadline = killedAt + TimeUnit.MILLISECONDS.toNanos(ServeProcesses.WAIT_MILLIS);
                while (true) {
                    tries++;
                    int status = bench.put(follower, "failover-" + k + "-" + tries, Duration.ofSeconds(10));
                    if (status == 200) {
                        break;
                    }
                    if (System.nanoTime() - deadline > 0) {
                        throw new IllegalStateException("no write succeeded through " + follower.id() + " within "
                                + ServeProcesses.WAIT_MILLIS + " ms of killing " + leader + " (last status " + status + ")");
                    }
                }
                long succeededAt = System.nanoTime();
                failoverMicros[k] = (succeededAt - killedAt) / 1_000;
                attempts[k] = tries;
                victim.waitFor();
                String next = bench.nodes.awaitLeader(leader);
                long restartedAt = System.nanoTime();
                bench.nodes.start(bench.nodes.member(leader), bench.members, false);
                bench.nodes.awaitCaughtUp(bench.nodes.member(leader), bench.nodes.member(next));
                catchUpMillis[k] = (System.nanoTime() - restartedAt) / 1_000_000;
                err.printf("failover %2d/%d: killed %s; a write through %s succeeded after %,d µs (%d tries); new leader %s;"
                                + " %s restarted and caught up in %,d ms%n", k + 1, kills, leader, follower.id(),
                        failoverMicros[k], tries, next, leader, catchUpMillis[k]);
            }
        } finally {
            loading.set(false);
            if (background != null) {
                background.join(15_000);
            }
            bench.nodes.stopAll();
        }
        long[] sorted = failoverMicros.clone();
        Arrays.sort(sorted);
        long[] catchUp = catchUpMillis.clone();
        Arrays.sort(catchUp);
        return "{\"mode\":\"failover\",\"kills\":" + kills + ",\"fsync\":" + fsync
                + ",\"electionTimeoutMillis\":{\"min\":" + config.electionTimeoutMinMillis() + ",\"max\":"
                + config.electionTimeoutMaxMillis() + "},\"heartbeatMillis\":" + config.heartbeatIntervalMillis()
                + ",\"killToFirstWriteMicros\":{\"p50\":" + KvBench.percentile(sorted, 0.50) + ",\"p95\":"
                + KvBench.percentile(sorted, 0.95) + ",\"max\":" + sorted[sorted.length - 1] + ",\"all\":"
                + Arrays.toString(failoverMicros).replace(" ", "") + "},\"writeAttempts\":"
                + Arrays.toString(attempts).replace(" ", "") + ",\"restartCatchUpMillis\":{\"p50\":" + KvBench.percentile(catchUp, 0.50) + ",\"max\":"
                + catchUp[catchUp.length - 1] + "},\"loadAverage\":" + loadAverage() + "}";
    }

    /** One write at a time to each live node in turn, until {@code loading} turns false; failures are ignored. */
    private void lightLoad(AtomicBoolean loading) {
        long n = 0;
        while (loading.get()) {
            for (ClusterLauncher.Member m : members) {
                if (!loading.get()) {
                    return;
                }
                Process p = processes.get(m.id());
                if (p != null && p.isAlive()) {
                    try {
                        put(m, "light-" + (n++ % 1000), Duration.ofSeconds(2));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }
    }

    /** A PUT of a 16-byte value through {@code m}; its HTTP status, or -1 if the node did not answer. */
    private int put(ClusterLauncher.Member m, String key, Duration timeout) throws InterruptedException {
        try {
            HttpResponse<Void> r = http.send(HttpRequest.newBuilder(m.httpUri().resolve(KvHttpHandler.KV_PREFIX + key))
                    .timeout(timeout).PUT(HttpRequest.BodyPublishers.ofString("0123456789abcdef")).build(),
                    HttpResponse.BodyHandlers.discarding());
            return r.statusCode();
        } catch (IOException e) {
            return -1;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The node processes
    // ---------------------------------------------------------------------------------------------

    /**
     * {@code --node-jar}: the nodes run another build's {@code raft-kv.jar} (its {@code serve} must take
     * the same flags), so that two builds are compared under the same load generator in one session.
     */
    static Path nodeJar(Flags f) {
        String jar = f.string("node-jar", null);
        if (jar == null) {
            return null;
        }
        Path path = Path.of(jar).toAbsolutePath();
        if (!Files.isRegularFile(path)) {
            throw new Flags.UsageException("--node-jar " + jar + " is not a file");
        }
        return path;
    }

    static List<String> splitOptions(String options) {
        return options.isBlank() ? List.of() : List.of(options.trim().split("\\s+"));
    }
}
