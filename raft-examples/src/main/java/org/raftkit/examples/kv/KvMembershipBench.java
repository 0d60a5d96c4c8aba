package org.raftkit.examples.kv;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.raftkit.RaftConfig;

/**
 * {@code bench --mode replace} and {@code bench --mode rolling-restart} (docs/BENCHMARKS.md): the
 * operations of docs/OPERATIONS.md ("Replacing a node", "Upgrading and restarting") on three
 * {@code serve} processes under a steady write load from {@link WriteClients}.
 *
 * <ul>
 *   <li>{@code replace}: {@code --phase} of load, then {@code kill -9} a follower, start a new node
 *       with {@code serve --join} on an empty directory, {@code POST /v1/members} it (learner,
 *       caught up, promoted) and {@code DELETE /v1/members/<dead>} at the leader, then
 *       {@code --phase} more. Times the steps from the kill, and gives latency and throughput
 *       before, during and after.</li>
 *   <li>{@code rolling-restart}: {@code --phase} of load, then stop each node in turn, followers
 *       first and the leader last, with SIGTERM ({@code --stop graceful}: the shutdown hook closes
 *       the node, and a leader hands leadership over first) or SIGKILL ({@code --stop kill}), start
 *       it again on its data, wait until it has caught up, and {@code --pause}. Gives the longest
 *       gap between two acknowledged writes, latency, errors and the elections the nodes logged.</li>
 * </ul>
 * Both check at the end that every client's key holds at least its last acknowledged write.
 */
final class KvMembershipBench {

    /** Refuses the flags of the other process modes, and {@code --stop}/{@code --pause} outside rolling-restart. */
    static void checkFlags(String mode, Flags f) {
        for (String flag : List.of("nodes", "payload", "duration", "connections", "trace-every", "kills", "floor")) {
            if (f.has(flag)) {
                throw new Flags.UsageException("--" + flag + " is not for --mode " + mode + ", which runs three nodes "
                        + "and " + (flag.equals("duration") ? "--phase of load before and after" : "a load of its own"));
            }
        }
        if (mode.equals("replace")) {
            for (String flag : List.of("stop", "pause")) {
                if (f.has(flag)) {
                    throw new Flags.UsageException("--" + flag + " is for --mode rolling-restart");
                }
            }
        }
        stopMode(f);
        target(f);
    }

    /** {@code --stop graceful|kill}: true for graceful (SIGTERM). */
    static boolean stopMode(Flags f) {
        String stop = f.string("stop", "graceful");
        if (!stop.equals("graceful") && !stop.equals("kill")) {
            throw new Flags.UsageException("--stop must be graceful or kill, was '" + stop + "'");
        }
        return stop.equals("graceful");
    }

    /** {@code --target leader|all}: true for all (client i starts at node i mod 3). */
    static boolean target(Flags f) {
        String target = f.string("target", "leader");
        if (!target.equals("leader") && !target.equals("all")) {
            throw new Flags.UsageException("--target must be leader or all, was '" + target + "'");
        }
        return target.equals("all");
    }

    private static ServeProcesses create(Flags f, Path dir, PrintStream err) {
        return new ServeProcesses(dir, RaftFlags.forServe(f),
                KvProcessBench.splitOptions(f.string("node-java-options", "")), KvProcessBench.nodeJar(f), err);
    }

    /** The JSON fields both modes start with (the object is left open). */
    private static String header(ServeProcesses nodes, String mode, Flags f, int clients, RaftConfig config) {
        return "{\"mode\":\"" + mode + "\",\"clients\":" + clients + ",\"target\":\"" + f.string("target", "leader")
                + "\",\"fsync\":" + f.bool("fsync", true) + ",\"electionTimeoutMillis\":{\"min\":"
                + config.electionTimeoutMinMillis() + ",\"max\":" + config.electionTimeoutMaxMillis()
                + "},\"heartbeatMillis\":" + config.heartbeatIntervalMillis()
                + ",\"nodeJar\":" + (nodes.nodeJar() == null ? "null" : Json.quote(nodes.nodeJar().toString()));
    }

    // ---------------------------------------------------------------------------------------------
    // bench --mode replace
    // ---------------------------------------------------------------------------------------------

    /** Replaces a killed follower under load; returns the JSON result. */
    static String replace(Flags f, Path dir, PrintStream err) throws InterruptedException {
        checkFlags("replace", f);
        int clients = f.integer("clients", 16, 1, 1024);
        long phaseMillis = f.millis("phase", 10_000);
        long warmupMillis = f.millis("warmup", 5_000);
        RaftConfig config = RaftFlags.config(f);
        ServeProcesses bench = create(f, dir, err);
        WriteClients load = null;
        try {
            bench.startAll();
            String leader = bench.awaitLeader();
            load = startLoad(bench, clients, leader, target(f));
            Thread.sleep(warmupMillis);
            long before = System.nanoTime();
            Thread.sleep(phaseMillis);
            Map<String, Long> events = new LinkedHashMap<>();
            leader = bench.awaitLeader();
            long termBefore = bench.term(leader);
            String leaderId = leader;
            ClusterLauncher.Member dead = bench.members.stream().filter(m -> !m.id().equals(leaderId))
                    .reduce((a, b) -> b).orElseThrow();
            long killedAt = System.nanoTime();
            bench.processes.remove(dead.id()).destroyForcibly().waitFor();
            events.put("killed", killedAt);
            err.println("replace: killed " + dead.id() + " (leader " + leader + ")");
            List<ClusterLauncher.Member> peers = new ArrayList<>(bench.members);
            peers.remove(dead);
            ClusterLauncher.Member added = bench.newMember("n4");
            peers.add(added);
            bench.members.add(added);
            bench.start(added, peers, true);
            load.endpoints(peers.stream().map(ClusterLauncher.Member::http).toList());
            bench.awaitAnswer(added);
            events.put("joinedNodeAnswers", System.nanoTime());
            String body = "{\"id\":\"" + added.id() + "\",\"raft\":\"" + ClusterLauncher.HOST + ":" + added.raft().getPort() + "\"}";
            String afterAdd = bench.admin("POST", MembersApi.MEMBERS_PATH, body);
            events.put("voterCommitted", System.nanoTime());
            err.println("replace: " + added.id() + " is a voter: " + afterAdd);
            String afterRemove = bench.admin("DELETE", MembersApi.MEMBERS_PATH + "/" + dead.id(), null);
            long removedAt = System.nanoTime();
            events.put("deadRemoved", removedAt);
            err.println("replace: " + dead.id() + " removed: " + afterRemove);
            Thread.sleep(phaseMillis);
            long end = System.nanoTime();
            load.stop();
            String leaderAfter = bench.awaitLeader();
            long lost = lostAcknowledgedWrites(bench, load, bench.member(leaderAfter));
            StringBuilder timeline = new StringBuilder();
            events.forEach((name, at) -> timeline.append(timeline.length() == 0 ? "" : ",").append('"').append(name)
                    .append("\":").append((at - killedAt) / 1_000_000));
            long[] completions = load.completions();
            return header(bench, "replace", f, clients, config)
                    + ",\"killed\":\"" + dead.id() + "\",\"leaderBefore\":\"" + leaderId + "\",\"added\":\"" + added.id()
                    + "\",\"leaderAfter\":\"" + leaderAfter + "\",\"killToVoterCommittedMillis\":"
                    + (events.get("voterCommitted") - killedAt) / 1_000_000
                    + ",\"millisFromKill\":{" + timeline + "},\"configurationAfter\":" + afterRemove
                    + ",\"phases\":{\"before\":" + phase(load, completions, before, killedAt)
                    + ",\"during\":" + phase(load, completions, killedAt, removedAt)
                    + ",\"after\":" + phase(load, completions, removedAt, end) + "}"
                    + "," + gap(completions, before, end, killedAt, "kill")
                    + ",\"errors\":" + total(load.errors()) + ",\"errorsByKind\":" + json(load.errors())
                    + ",\"acknowledgedWritesLost\":" + lost + ",\"termsAdvanced\":" + (bench.term(leaderAfter) - termBefore)
                    + ",\"loadAverage\":" + KvProcessBench.loadAverage() + "}";
        } finally {
            if (load != null) {
                load.stop();
            }
            bench.stopAll();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // bench --mode rolling-restart
    // ---------------------------------------------------------------------------------------------

    /** Restarts every node in turn under load, followers first; returns the JSON result. */
    static String rollingRestart(Flags f, Path dir, PrintStream err) throws InterruptedException {
        checkFlags("rolling-restart", f);
        int clients = f.integer("clients", 16, 1, 1024);
        long phaseMillis = f.millis("phase", 10_000);
        long warmupMillis = f.millis("warmup", 5_000);
        long pauseMillis = f.millis("pause", 2_000);
        boolean graceful = stopMode(f);
        RaftConfig config = RaftFlags.config(f);
        ServeProcesses bench = create(f, dir, err);
        WriteClients load = null;
        try {
            bench.startAll();
            String leader = bench.awaitLeader();
            load = startLoad(bench, clients, leader, target(f));
            Thread.sleep(warmupMillis);
            long before = System.nanoTime();
            Thread.sleep(phaseMillis);
            leader = bench.awaitLeader();
            long termBefore = bench.term(leader);
            Map<String, Integer> logBefore = bench.logCounts();
            // Followers first, the leader last: one leader change, as an operator would do it.
            List<ClusterLauncher.Member> order = new ArrayList<>();
            String first = leader;
            bench.members.stream().filter(m -> !m.id().equals(first)).forEach(order::add);
            order.add(bench.member(leader));
            long rollStart = System.nanoTime();
            List<String> restarts = new ArrayList<>();
            List<Long> stops = new ArrayList<>();
            for (ClusterLauncher.Member m : order) {
                boolean wasLeader = m.id().equals(bench.awaitLeader());
                int handedBefore = bench.count(m, " handed leadership to ");
                Process p = bench.processes.remove(m.id());
                java.time.LocalTime stopWallClock = java.time.LocalTime.now(java.time.ZoneOffset.UTC);
                long stopAt = System.nanoTime();
                stops.add(stopAt);
                if (graceful) {
                    p.destroy(); // SIGTERM: the shutdown hook runs KvNode.close()
                } else {
                    p.destroyForcibly(); // SIGKILL
                }
                if (!p.waitFor(ServeProcesses.WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                    throw new IllegalStateException(m.id() + " did not exit within " + ServeProcesses.WAIT_MILLIS + " ms of "
                            + (graceful ? "SIGTERM" : "SIGKILL"));
                }
                long exitedAt = System.nanoTime();
                bench.start(m, bench.members, false);
                String now = bench.awaitLeader();
                bench.awaitCaughtUp(m, bench.member(now));
                long caughtUpAt = System.nanoTime();
                boolean handedOver = bench.count(m, " handed leadership to ") > handedBefore;
                Thread.sleep(pauseMillis);
                restarts.add("{\"node\":\"" + m.id() + "\",\"wasLeader\":" + wasLeader + ",\"stopToExitMillis\":"
                        + (exitedAt - stopAt) / 1_000_000 + ",\"stopToCaughtUpMillis\":" + (caughtUpAt - stopAt) / 1_000_000
                        + ",\"loggedHandOver\":" + handedOver + ",\"leaderAfter\":\"" + now + "\"");
                err.printf("rolling-restart: %s %s (%s) %s, exited after %,d ms, caught up %,d ms after the stop; leader %s%s%n",
                        stopWallClock, m.id(), wasLeader ? "leader" : "follower", graceful ? "SIGTERM" : "SIGKILL",
                        (exitedAt - stopAt) / 1_000_000, (caughtUpAt - stopAt) / 1_000_000, now,
                        handedOver ? " (handed over)" : "");
            }
            long rollEnd = System.nanoTime();
            load.stop();
            String leaderAfter = bench.awaitLeader();
            long lost = lostAcknowledgedWrites(bench, load, bench.member(leaderAfter));
            Map<String, Integer> logAfter = bench.logCounts();
            long[] completions = load.completions();
            StringBuilder perRestart = new StringBuilder();
            for (int i = 0; i < restarts.size(); i++) {
                // Each restart's own window: from its stop to the next one's (or the end).
                long to = i + 1 < stops.size() ? stops.get(i + 1) : rollEnd;
                perRestart.append(i == 0 ? "" : ",").append(restarts.get(i)).append(',')
                        .append(gap(completions, stops.get(i), to, stops.get(i), "stop")).append('}');
            }
            return header(bench, "rolling-restart", f, clients, config)
                    + ",\"stop\":\"" + (graceful ? "graceful" : "kill") + "\",\"order\":\"followers first, leader last\""
                    + ",\"pauseMillis\":" + pauseMillis + ",\"leaderBefore\":\"" + first + "\",\"leaderAfter\":\""
                    + leaderAfter + "\",\"restarts\":[" + perRestart + "]"
                    + ",\"phases\":{\"before\":" + phase(load, completions, before, rollStart)
                    + ",\"rolling\":" + phase(load, completions, rollStart, rollEnd) + "}"
                    + "," + gap(completions, rollStart, rollEnd, rollStart, "rollStart")
                    + ",\"termsAdvanced\":" + (bench.term(leaderAfter) - termBefore)
                    + ",\"logged\":{\"becameCandidate\":" + (logAfter.get("candidate") - logBefore.get("candidate"))
                    + ",\"becameLeader\":" + (logAfter.get("leader") - logBefore.get("leader"))
                    + ",\"steppedDown\":" + (logAfter.get("stepped") - logBefore.get("stepped"))
                    + ",\"handedOver\":" + (logAfter.get("handed") - logBefore.get("handed")) + "}"
                    + ",\"errors\":" + total(load.errors()) + ",\"errorsByKind\":" + json(load.errors())
                    + ",\"acknowledgedWritesLost\":" + lost + ",\"loadAverage\":" + KvProcessBench.loadAverage() + "}";
        } finally {
            if (load != null) {
                load.stop();
            }
            bench.stopAll();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Results
    // ---------------------------------------------------------------------------------------------

    /** Writes, ops/s and latency of the writes sent in {@code [from, to)}. */
    private static String phase(WriteClients load, long[] completions, long from, long to) {
        long[] lat = load.latencies(from, to);
        long done = 0;
        for (long c : completions) {
            if (c - from >= 0 && c - to < 0) {
                done++;
            }
        }
        double seconds = (to - from) / 1e9;
        return "{\"seconds\":" + Math.round(seconds * 10) / 10.0 + ",\"writes\":" + done + ",\"opsPerSecond\":"
                + Math.round(done / seconds) + ",\"latencyMicros\":{\"p50\":" + KvBench.percentile(lat, 0.50)
                + ",\"p99\":" + KvBench.percentile(lat, 0.99) + ",\"max\":" + (lat.length == 0 ? 0 : lat[lat.length - 1]) + "}}";
    }

    /** The longest time in {@code [from, to]} with no acknowledged write, and when it began (ms after {@code zero}). */
    static String gap(long[] sortedCompletions, long from, long to, long zero, String zeroName) {
        long longest = 0;
        long startedAt = from;
        long previous = from;
        for (long c : sortedCompletions) {
            if (c - from < 0) {
                continue;
            }
            long at = Math.min(c, to);
            if (at - previous > longest) {
                longest = at - previous;
                startedAt = previous;
            }
            previous = at;
            if (c - to >= 0) {
                break;
            }
        }
        if (to - previous > longest) {
            longest = to - previous;
            startedAt = previous;
        }
        return "\"maxGapBetweenWritesMillis\":" + Math.round(longest / 1e5) / 10.0 + ",\"maxGapStartedMillisAfter_"
                + zeroName + "\":" + (startedAt - zero) / 1_000_000;
    }

    /**
     * Failed writes: every answer but 2xx, and every connection lost with a write in flight. A
     * refused connection sent nothing (the client moves to the next node); it is listed in
     * {@code errorsByKind} but is not a failed write.
     */
    private static long total(Map<String, Long> errors) {
        return errors.entrySet().stream().filter(e -> !e.getKey().equals(WriteClients.CONNECT_REFUSED))
                .mapToLong(Map.Entry::getValue).sum();
    }

    private static String json(Map<String, Long> counts) {
        StringBuilder b = new StringBuilder("{");
        counts.forEach((k, v) -> b.append(b.length() == 1 ? "" : ",").append(Json.quote(k)).append(':').append(v));
        return b.append('}').toString();
    }

    /**
     * How many clients' keys hold less than their last acknowledged sequence number, read
     * linearizably through {@code node}: each such client lost an acknowledged write.
     */
    private static long lostAcknowledgedWrites(ServeProcesses bench, WriteClients load, ClusterLauncher.Member node)
            throws InterruptedException {
        long lost = 0;
        for (int c = 0; c < load.clients(); c++) {
            long acked = load.lastAcknowledged(c);
            if (acked == 0) {
                continue;
            }
            String value = bench.get(node, "bench-c" + c);
            if (value == null || Long.parseLong(value) < acked) {
                bench.err.println("bench: client " + c + " had write " + acked + " acknowledged, but its key holds " + value);
                lost++;
            }
        }
        return lost;
    }

    private static WriteClients startLoad(ServeProcesses bench, int clients, String leader, boolean spread) {
        List<ClusterLauncher.Member> live = bench.members.stream().filter(m -> bench.processes.containsKey(m.id())).toList();
        WriteClients load = new WriteClients(clients, live.stream().map(ClusterLauncher.Member::http).toList(),
                live.indexOf(bench.member(leader)), spread);
        load.start();
        return load;
    }

}
