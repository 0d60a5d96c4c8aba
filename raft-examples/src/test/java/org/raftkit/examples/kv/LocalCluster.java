package org.raftkit.examples.kv;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.raftkit.runtime.Await;

/**
 * KV nodes as real processes ({@code KvMain serve}) on loopback, each with its own data
 * directory, for end-to-end tests: start, {@code kill -9}, restart on the same data. Each node's
 * output goes to {@code <dir>/<id>.log}, which a failing test's message points to.
 */
final class LocalCluster implements AutoCloseable {

    static final Duration DEADLINE = Duration.ofSeconds(30);

    private final Path dir;
    private final Map<String, ClusterLauncher.Member> members = new LinkedHashMap<>();
    private final Map<String, Process> processes = new LinkedHashMap<>();
    private final List<String> serveFlags;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(1)).build();

    LocalCluster(Path dir, int size) {
        this(dir, size, List.of());
    }

    /** A cluster whose nodes all get {@code serveFlags} (tuning: timeouts, snapshot triggers). */
    LocalCluster(Path dir, int size, List<String> serveFlags) {
        this.dir = dir;
        this.serveFlags = List.copyOf(serveFlags);
        for (int i = 1; i <= size; i++) {
            String id = "n" + i;
            members.put(id, new ClusterLauncher.Member(id, new InetSocketAddress(ClusterLauncher.HOST, freePort()),
                    new InetSocketAddress(ClusterLauncher.HOST, freePort()), dir.resolve(id)));
        }
    }

    List<String> ids() {
        return List.copyOf(members.keySet());
    }

    URI endpoint(String id) {
        return members.get(id).httpUri();
    }

    /** Every node's endpoint, for the CLI's {@code --endpoints}. */
    String endpoints() {
        return String.join(",", ids().stream().map(id -> endpoint(id).toString()).toList());
    }

    LocalCluster startAll() {
        ids().forEach(this::start);
        return this;
    }

    /** Starts (or restarts) a node on its data directory; {@code extraFlags} follow the cluster's. */
    void start(String id, String... extraFlags) {
        List<String> flags = new ArrayList<>(serveFlags);
        flags.addAll(List.of(extraFlags));
        List<String> command = ClusterLauncher.serveCommand(members.get(id),
                List.copyOf(members.values()), flags, "-Xmx256m", "-XX:+UseSerialGC");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(id + ".log").toFile())).start();
            processes.put(id, p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + id, e);
        }
    }

    /** {@code kill -9}: the process gets no chance to flush or close anything. */
    void kill(String id) {
        Process p = processes.remove(id);
        if (p != null) {
            p.destroyForcibly();
            try {
                if (!p.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
                    throw new AssertionError(id + " did not die");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** Waits until {@code id}'s process has exited, and returns its exit code. */
    int awaitExit(String id) {
        Process p = processes.get(id);
        try {
            if (p == null || !p.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
                throw new AssertionError(id + " did not exit within " + DEADLINE + ":\n" + logTail(id));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        processes.remove(id);
        return p.exitValue();
    }

    /** The Raft address of {@code id}, as {@code member add --raft} takes it. */
    String raftAddress(String id) {
        return ClusterLauncher.HOST + ":" + members.get(id).raft().getPort();
    }

    boolean isRunning(String id) {
        Process p = processes.get(id);
        return p != null && p.isAlive();
    }

    /**
     * Waits until one of {@code among} says it leads and every running one of them answers HTTP
     * (a node's API starts after its Raft, so a leader may be elected before a follower serves).
     */
    String awaitLeader(List<String> among) {
        String[] leader = new String[1];
        Await.await(DEADLINE, () -> {
            leader[0] = null;
            for (String id : among) {
                String role = role(id);
                if (role == null && isRunning(id)) {
                    return false;
                }
                if ("leader".equals(role)) {
                    leader[0] = id;
                }
            }
            return leader[0] != null;
        }, () -> "a leader among " + among + ", all of them answering (logs in " + dir + ")");
        return leader[0];
    }

    private String role(String id) {
        try {
            return ClusterLauncher.role(http, members.get(id));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** A node's data directory. */
    Path dataDir(String id) {
        return members.get(id).dataDir();
    }

    /** The node's {@code /v1/status} document, or null if it does not answer (it may be down or starting). */
    String statusOrNull(String id) {
        HttpResponse<String> r = sendOrNull(HttpRequest.newBuilder(endpoint(id).resolve(KvHttpHandler.STATUS_PATH)).GET());
        return r != null && r.statusCode() == 200 ? r.body() : null;
    }

    /** A number from the node's status (e.g. {@code commitIndex}), or -1 if it does not answer. */
    long statusNumber(String id, String field) {
        String status = statusOrNull(id);
        String value = status == null ? null : Json.field(status, field);
        return value == null ? -1 : Long.parseLong(value);
    }

    HttpResponse<String> put(String id, String key, String value, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(endpoint(id).resolve("/v1/kv/" + key))
                .PUT(HttpRequest.BodyPublishers.ofString(value));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return send(b);
    }

    /**
     * PUTs until the write is acknowledged (200), within {@link #DEADLINE}. Only for a write that
     * may happen twice: a 503 means nothing happened, but a 504 leaves the outcome unknown.
     */
    void putUntilAcknowledged(String id, String key, String value) {
        HttpResponse<?>[] last = new HttpResponse<?>[1];
        Await.await(DEADLINE, () -> {
            last[0] = putOrNull(id, key, value);
            return last[0] != null && last[0].statusCode() == 200;
        }, () -> "a write of " + key + " through " + id + " (last answer: "
                + (last[0] == null ? "none" : last[0].statusCode() + " " + last[0].body()) + ", logs in " + dir + ")");
    }

    /** A PUT that answers null instead of failing when the node does not answer (it may be starting). */
    HttpResponse<String> putOrNull(String id, String key, String value) {
        return sendOrNull(HttpRequest.newBuilder(endpoint(id).resolve("/v1/kv/" + key))
                .PUT(HttpRequest.BodyPublishers.ofString(value)));
    }

    /** A GET that answers null instead of failing when the node does not answer (it may be starting). */
    HttpResponse<String> getOrNull(String id, String key) {
        return sendOrNull(HttpRequest.newBuilder(endpoint(id).resolve("/v1/kv/" + key)).GET());
    }

    HttpResponse<String> get(String id, String key) {
        return send(HttpRequest.newBuilder(endpoint(id).resolve("/v1/kv/" + key)).GET());
    }

    HttpResponse<String> send(HttpRequest.Builder request) {
        HttpResponse<String> r = sendOrNull(request);
        if (r == null) {
            throw new AssertionError("no answer to " + request.build().uri() + " (logs in " + dir + ")");
        }
        return r;
    }

    private HttpResponse<String> sendOrNull(HttpRequest.Builder request) {
        try {
            return http.send(request.timeout(DEADLINE).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The tail of a node's log, for failure messages. */
    String logTail(String id) {
        try {
            List<String> lines = Files.readAllLines(dir.resolve(id + ".log"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() {
        for (String id : new ArrayList<>(processes.keySet())) {
            kill(id);
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
