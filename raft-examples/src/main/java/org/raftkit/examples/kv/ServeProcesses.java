package org.raftkit.examples.kv;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The {@code serve} processes of {@link KvMembershipBench}: starts them (each on free loopback
 * ports, its output in {@code node.log} in its data directory), asks them for their status and for
 * membership changes over HTTP, and reads their logs. Used from the benchmark's thread only.
 */
final class ServeProcesses {

    /** How long the nodes get to elect a leader, a node to start or catch up, a change to commit. */
    static final long WAIT_MILLIS = 30_000;

    private final Path dir;
    final List<ClusterLauncher.Member> members = new ArrayList<>();
    /** The running nodes by id; a stopped or killed node is taken out. */
    final Map<String, Process> processes = new LinkedHashMap<>();
    private final List<String> serveFlags;
    private final List<String> jvmFlags;
    private final Path nodeJar;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500))
            .version(HttpClient.Version.HTTP_1_1).build();
    final PrintStream err;

    ServeProcesses(Path dir, List<String> serveFlags, List<String> jvmFlags, Path nodeJar, PrintStream err) {
        this(3, dir, serveFlags, jvmFlags, nodeJar, err);
    }

    /** {@code nodes} initial members, n1 to n{@code nodes}, not started. */
    ServeProcesses(int nodes, Path dir, List<String> serveFlags, List<String> jvmFlags, Path nodeJar, PrintStream err) {
        this.dir = dir;
        this.serveFlags = serveFlags;
        this.jvmFlags = jvmFlags;
        this.nodeJar = nodeJar;
        this.err = err;
        for (int i = 1; i <= nodes; i++) {
            members.add(newMember("n" + i));
        }
    }

    /** The jar the nodes run ({@code --node-jar}), or null for this JVM's class path. */
    Path nodeJar() {
        return nodeJar;
    }

    /** A linearizable read of {@code key} through {@code m}: the value, or null if not 200. */
    String get(ClusterLauncher.Member m, String key) throws InterruptedException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(m.httpUri().resolve(KvHttpHandler.KV_PREFIX + key))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + key + " from " + m.id(), e);
        }
    }

    /** A node named {@code id} on free ports, its data in {@code DIR/id}; not started. */
    ClusterLauncher.Member newMember(String id) {
        return new ClusterLauncher.Member(id, new InetSocketAddress(ClusterLauncher.HOST, KvBench.freePort()),
                new InetSocketAddress(ClusterLauncher.HOST, KvBench.freePort()), dir.resolve(id));
    }

    /** The member named {@code id}, running or not. */
    ClusterLauncher.Member member(String id) {
        return members.stream().filter(m -> m.id().equals(id)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no member " + id));
    }

    /** Starts the three initial members. */
    void startAll() {
        for (ClusterLauncher.Member m : members) {
            start(m, members, false);
        }
    }

    /** Starts {@code m} with {@code --peers} naming {@code peers}, and {@code --join} if {@code join}. */
    void start(ClusterLauncher.Member m, List<ClusterLauncher.Member> peers, boolean join) {
        try {
            Files.createDirectories(m.dataDir());
            List<String> command = new ArrayList<>(
                    ClusterLauncher.serveCommand(m, peers, serveFlags, jvmFlags.toArray(String[]::new)));
            if (nodeJar != null) {
                command.set(command.indexOf("-cp") + 1, nodeJar.toString());
            }
            if (join) {
                command.add("--join");
            }
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(m.dataDir().resolve("node.log").toFile())).start();
            processes.put(m.id(), p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node " + m.id(), e);
        }
    }

    /** Waits for a live node to call itself leader; returns its id. */
    String awaitLeader() throws InterruptedException {
        return awaitLeader(null);
    }

    /** Waits for a live node other than {@code not} (null: any) to call itself leader; returns its id. */
    String awaitLeader(String not) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        while (System.nanoTime() < deadline) {
            for (ClusterLauncher.Member m : members) {
                Process p = processes.get(m.id());
                if (p != null && p.isAlive() && !m.id().equals(not) && "leader".equals(ClusterLauncher.role(http, m))) {
                    return m.id();
                }
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("no leader within " + WAIT_MILLIS + " ms; see " + dir + "/n*/node.log");
    }

    /** Waits until {@code m} answers {@code /v1/status}. */
    void awaitAnswer(ClusterLauncher.Member m) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        while (status(m) == null) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(m.id() + " did not answer within " + WAIT_MILLIS + " ms");
            }
            Thread.sleep(10);
        }
    }

    /** Waits until {@code node} has applied what {@code leader} had committed when {@code node} first answered. */
    void awaitCaughtUp(ClusterLauncher.Member node, ClusterLauncher.Member leader) throws InterruptedException {
        awaitAnswer(node);
        String leaderStatus = status(leader);
        long goal = leaderStatus == null ? 0 : Long.parseLong(Json.field(leaderStatus, "commitIndex"));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        while (true) {
            String s = status(node);
            if (s != null && Long.parseLong(Json.field(s, "appliedIndex")) >= goal) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(node.id() + " did not catch up within " + WAIT_MILLIS + " ms");
            }
            Thread.sleep(10);
        }
    }

    /** The term {@code id} reports, or -1 if it does not answer. */
    long term(String id) throws InterruptedException {
        String s = status(member(id));
        return s == null ? -1 : Long.parseLong(Json.field(s, "term"));
    }

    /** {@code m}'s {@code /v1/status} body, or null if it does not answer 200. */
    String status(ClusterLauncher.Member m) throws InterruptedException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(m.httpUri().resolve(KvHttpHandler.STATUS_PATH))
                    .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** {@code POST path} at {@code m} itself (not its leader); returns the 200 answer's body. */
    String post(ClusterLauncher.Member m, String path) throws InterruptedException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(m.httpUri().resolve(path))
                    .timeout(Duration.ofMillis(WAIT_MILLIS)).POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("POST " + path + " at " + m.id() + ": " + r.statusCode() + " " + r.body());
            }
            return r.body();
        } catch (IOException e) {
            throw new UncheckedIOException("POST " + path + " at " + m.id() + " failed", e);
        }
    }

    /**
     * A membership call at the current leader, as an operator would make it with curl: again at
     * the new leader on a 503 until it succeeds. Returns the 200 answer's body.
     */
    String admin(String method, String path, String body) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2 * WAIT_MILLIS);
        String last = null;
        while (System.nanoTime() < deadline) {
            URI uri = member(awaitLeader()).httpUri().resolve(path);
            HttpRequest.BodyPublisher publisher = body == null ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body);
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(2 * WAIT_MILLIS))
                        .method(method, publisher).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return r.body();
                }
                last = r.statusCode() + " " + r.body();
                if (r.statusCode() != 503) {
                    break;
                }
            } catch (IOException e) {
                last = e.toString();
            }
            err.println("bench: " + method + " " + path + ": " + last + "; trying again");
            Thread.sleep(100);
        }
        throw new IllegalStateException(method + " " + path + " failed: " + last);
    }

    /** How many lines of {@code m}'s node.log contain {@code text}. */
    int count(ClusterLauncher.Member m, String text) {
        try (var lines = Files.lines(m.dataDir().resolve("node.log"))) {
            return (int) lines.filter(l -> l.contains(text)).count();
        } catch (IOException | UncheckedIOException e) {
            return 0;
        }
    }

    /** Role-change lines over every node's log, by kind. */
    Map<String, Integer> logCounts() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        counts.put("candidate", 0);
        counts.put("leader", 0);
        counts.put("stepped", 0);
        counts.put("handed", 0);
        for (ClusterLauncher.Member m : members) {
            counts.merge("candidate", count(m, " became candidate at term "), Integer::sum);
            counts.merge("leader", count(m, " became leader at term "), Integer::sum);
            counts.merge("stepped", count(m, " stepped down at term "), Integer::sum);
            counts.merge("handed", count(m, " handed leadership to "), Integer::sum);
        }
        return counts;
    }

    /**
     * The last stage-trace line ({@code -Draftkit.trace.every}) of each member's node.log, which a
     * node writes when it closes: read them after {@link #stopAll}.
     */
    List<String> stageTraces() {
        List<String> traces = new ArrayList<>();
        for (ClusterLauncher.Member m : members) {
            try (var lines = Files.lines(m.dataDir().resolve("node.log"))) {
                lines.filter(l -> l.contains(" stage trace: ")).reduce((a, b) -> b)
                        .ifPresent(l -> traces.add(l.substring(l.indexOf(" stage trace: ") + 14)));
            } catch (IOException | UncheckedIOException e) {
                err.println("bench: cannot read " + m.dataDir().resolve("node.log") + ": " + e.getMessage());
            }
        }
        return traces;
    }

    /** Stops every node politely (its shutdown hook closes it), then forcibly after 10 s. */
    void stopAll() throws InterruptedException {
        for (Process p : processes.values()) {
            p.destroy();
        }
        for (Process p : processes.values()) {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        }
        processes.clear();
    }
}
