package org.raftkit.examples.kv;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.raftkit.transport.netty.TlsConfig;

/**
 * {@code cluster}: a local cluster of KV nodes, each its own process, so that {@code kill -9} on
 * one of them is a real crash. Data lives under {@code --dir} (one folder per node) and is reused
 * by the next start. Ctrl-C stops every node; a node that dies on its own is reported.
 */
final class ClusterLauncher {

    /**
     * Where one child node runs.
     *
     * @param scheme {@code "https"} when the node serves its API over HTTPS, else {@code "http"}
     */
    record Member(String id, InetSocketAddress raft, InetSocketAddress http, Path dataDir, String scheme) {

        /** A node that serves plain HTTP. */
        Member(String id, InetSocketAddress raft, InetSocketAddress http, Path dataDir) {
            this(id, raft, http, dataDir, "http");
        }

        URI httpUri() {
            return URI.create(scheme + "://" + http.getHostString() + ":" + http.getPort());
        }
    }

    /** A started child. */
    record Child(Member member, Process process) {
    }

    static final String HOST = "127.0.0.1";
    private static final long LEADER_WAIT_MILLIS = 30_000;

    private final List<Member> members = new ArrayList<>();
    /** Each node's TLS on the Raft port, by id; plaintext for ids not in it. */
    private final Map<String, TlsConfig> tls;
    /**
     * The CAs the nodes' HTTPS certificates are checked against (the Raft port's trust bundle,
     * which the nodes' API uses too), or null when the nodes serve plain HTTP.
     */
    private final Path httpsCa;
    private final List<Child> children = new ArrayList<>();
    private final List<String> serveFlags;
    private final PrintStream out;
    private volatile boolean stopping;

    /**
     * @param serveFlags extra flags for every node's {@code serve} (fsync, timeouts, snapshot triggers)
     * @param tls        each node's TLS settings for its Raft port
     * @throws Flags.UsageException if the port ranges overlap, or {@code dir} holds another number of nodes
     */
    ClusterLauncher(int nodes, Path dir, int httpPort, int raftPort, List<String> serveFlags,
                    Map<String, TlsConfig> tls, PrintStream out) {
        this.out = out;
        this.serveFlags = List.copyOf(serveFlags);
        this.tls = Map.copyOf(tls);
        if (httpPort < raftPort + nodes && raftPort < httpPort + nodes) {
            throw new Flags.UsageException("--http-port " + httpPort + ".." + (httpPort + nodes - 1) + " overlaps --raft-port "
                    + raftPort + ".." + (raftPort + nodes - 1) + " for " + nodes + " nodes; move one of them");
        }
        checkExistingNodes(dir, nodes);
        // Each node's API serves HTTPS with its Raft files when TLS is on (HttpTls.sameAs).
        this.httpsCa = this.tls.values().stream().filter(TlsConfig::enabled).map(TlsConfig::trustedCertificatesFile)
                .findFirst().orElse(null);
        for (int i = 1; i <= nodes; i++) {
            members.add(new Member("n" + i, new InetSocketAddress(HOST, raftPort + i - 1),
                    new InetSocketAddress(HOST, httpPort + i - 1), dir.resolve("n" + i), httpsCa == null ? "http" : "https"));
        }
    }

    /**
     * The command line of a child {@code serve} process for {@code m}, on this JVM's class path, that
     * exits when this process does (even one killed with -9).
     */
    static List<String> serveCommand(Member m, List<Member> members, List<String> serveFlags, String... jvmFlags) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        // A node that runs out of memory must die, not limp on with a dead thread (issue 15).
        command.add("-XX:+ExitOnOutOfMemoryError");
        command.addAll(List.of(jvmFlags));
        command.addAll(List.of(
                "-cp", System.getProperty("java.class.path"),
                KvMain.class.getName(), "serve",
                "--id", m.id(),
                "--raft", HOST + ":" + m.raft().getPort(),
                "--http", HOST + ":" + m.http().getPort(),
                "--peers", peersFlag(members),
                "--http-peers", httpPeersFlag(members),
                "--data", m.dataDir().toString(),
                "--exit-with", Long.toString(ProcessHandle.current().pid())));
        command.addAll(serveFlags);
        return command;
    }

    /** {@code n1=127.0.0.1:8001,…} for {@code serve --http-peers} (the cluster view). */
    static String httpPeersFlag(List<Member> members) {
        StringBuilder b = new StringBuilder();
        for (Member m : members) {
            b.append(b.length() == 0 ? "" : ",").append(m.id()).append('=').append(HOST).append(':').append(m.http().getPort());
        }
        return b.toString();
    }

    /** {@code n1=127.0.0.1:7001,…} for {@code serve --peers}. */
    static String peersFlag(List<Member> members) {
        StringBuilder b = new StringBuilder();
        for (Member m : members) {
            b.append(b.length() == 0 ? "" : ",").append(m.id()).append('=').append(HOST).append(':').append(m.raft().getPort());
        }
        return b.toString();
    }

    /** Starts every node, waits for a leader, prints the table and the hint, then waits for Ctrl-C. */
    int run() throws InterruptedException {
        for (Member m : members) {
            checkFree(m.raft(), "--raft-port");
            checkFree(m.http(), "--http-port");
        }
        Runtime.getRuntime().addShutdownHook(new Thread(this::stopAll, "kv-cluster-stop"));
        for (Member m : members) {
            children.add(startChild(m));
        }
        for (Child c : children) {
            watch(c);
        }
        Map<String, String> roles = awaitLeaderAndAnswers();
        String leader = roles.entrySet().stream().filter(e -> "leader".equals(e.getValue())).map(Map.Entry::getKey)
                .findFirst().orElse(null);
        if (leader == null) {
            out.println("no leader was elected within " + LEADER_WAIT_MILLIS / 1000 + " s; see the logs under "
                    + members.get(0).dataDir().getParent() + "/n*/node.log");
            return 1;
        }
        printTable(leader, roles);
        for (Child c : children) {
            c.process().onExit().join();
        }
        return stopping ? 0 : 1;
    }

    /** Reports a child that exits on its own, with its log and the command that restarts it. */
    private void watch(Child c) {
        c.process().onExit().thenAccept(p -> {
            if (!stopping) {
                out.printf("node %s (pid %d) exited with code %d; its log is %s%nrestart it with: %s%n", c.member().id(),
                        p.pid(), p.exitValue(), c.member().dataDir().resolve("node.log"), shellLine(command(c.member())));
                out.flush();
            }
        });
    }

    /**
     * Refuses a data directory that holds nodes other than n1..n{@code nodes}: starting five nodes
     * on a three-node cluster's data would make a different cluster out of the old logs.
     */
    static void checkExistingNodes(Path dir, int nodes) {
        List<String> found = new ArrayList<>();
        try (var entries = Files.list(dir)) {
            entries.map(p -> p.getFileName().toString()).filter(n -> n.matches("n[0-9]+"))
                    .filter(n -> Files.isDirectory(dir.resolve(n).resolve("log"))).sorted().forEach(found::add);
        } catch (java.nio.file.NoSuchFileException e) {
            return;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        if (found.isEmpty()) {
            return;
        }
        List<String> wanted = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            wanted.add("n" + i);
        }
        if (!found.equals(wanted.stream().sorted().toList())) {
            throw new Flags.UsageException(dir + " holds the data of a " + found.size() + "-node cluster " + found
                    + "; --nodes " + nodes + " would start a different cluster on it. Use --nodes " + found.size()
                    + ", or another --dir for a new cluster");
        }
    }

    /** A command line as one could paste it into a POSIX shell. */
    static String shellLine(List<String> command) {
        StringBuilder b = new StringBuilder();
        for (String arg : command) {
            b.append(b.length() == 0 ? "" : " ");
            b.append(arg.matches("[A-Za-z0-9_@%+=:,./-]+") ? arg : "'" + arg.replace("'", "'\\''") + "'");
        }
        return b.toString();
    }

    private List<String> command(Member m) {
        List<String> command = new ArrayList<>(serveCommand(m, members, serveFlags, "-Xmx512m"));
        command.addAll(TlsFlags.serveArgs(tls.getOrDefault(m.id(), TlsConfig.plaintext())));
        return command;
    }

    private static void checkFree(InetSocketAddress address, String flag) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(address);
        } catch (IOException e) {
            throw new Flags.UsageException("port " + address.getPort() + " on " + address.getHostString()
                    + " is in use (is another cluster running?); pick another with " + flag);
        }
    }

    private Child startChild(Member m) {
        try {
            Files.createDirectories(m.dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + m.dataDir(), e);
        }
        List<String> command = command(m);
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(m.dataDir().resolve("node.log").toFile()));
        try {
            return new Child(m, builder.start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node " + m.id(), e);
        }
    }

    /** Polls every node's status until one says it leads; returns its id, or null at the deadline. */
    /**
     * Waits until one node answers as leader and every node still running answers at all, so that
     * the table printed next (and the curl line under it, which names n1) is true when it appears:
     * a leader elected while another node's HTTP server is still starting would otherwise be
     * printed with that node as a "follower" that refuses connections. Returns each answering
     * node's role by id; at the deadline, what answered by then (no leader: none is in the map).
     */
    private Map<String, String> awaitLeaderAndAnswers() throws InterruptedException {
        HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500));
        if (httpsCa != null) {
            client.sslContext(CaBundle.trustOnly(httpsCa, "the trust bundle"));
        }
        HttpClient http = client.build();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LEADER_WAIT_MILLIS);
        Map<String, String> roles = new java.util.LinkedHashMap<>();
        while (System.nanoTime() < deadline) {
            roles.clear();
            boolean allAnswered = true;
            for (Child c : children) {
                String role = role(http, c.member());
                if (role != null) {
                    roles.put(c.member().id(), role);
                } else if (c.process().isAlive()) {
                    allAnswered = false;
                }
            }
            if (allAnswered && roles.containsValue("leader")) {
                return roles;
            }
            if (children.stream().allMatch(c -> !c.process().isAlive())) {
                return roles;
            }
            Thread.sleep(100);
        }
        return roles;
    }

    /**
     * The node's role from {@code /v1/status}, or null if it does not answer.
     *
     * @throws IllegalStateException if the node answers with an HTTPS certificate that is not
     *                               accepted: waiting longer cannot help, so the launcher says why
     */
    static String role(HttpClient http, Member m) throws InterruptedException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(m.httpUri().resolve(KvHttpHandler.STATUS_PATH))
                    .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? Json.field(r.body(), "role") : null;
        } catch (IOException e) {
            if (CaBundle.isCertificateFailure(e)) {
                throw new IllegalStateException("the HTTPS certificate of " + m.id() + " at " + m.httpUri()
                        + " is not accepted (" + CaBundle.reason(e) + "): it must come from a CA in the --tls-ca "
                        + "bundle and name " + HOST + " (an IP subject alternative name), where cluster runs every node");
            }
            return null;
        }
    }

    private void printTable(String leader, Map<String, String> roles) {
        out.printf("%-4s %-8s %-24s %-16s %s%n", "id", "pid", "http", "raft", "role");
        long leaderPid = 0;
        for (Child c : children) {
            Member m = c.member();
            boolean isLeader = m.id().equals(leader);
            if (isLeader) {
                leaderPid = c.process().pid();
            }
            out.printf("%-4s %-8d %-24s %-16s %s%n", m.id(), c.process().pid(), m.httpUri(),
                    HOST + ":" + m.raft().getPort(), !c.process().isAlive() ? "exited"
                            : isLeader ? "leader" : roles.getOrDefault(m.id(), "not answering yet"));
        }
        int port = members.get(0).http().getPort();
        if (httpsCa == null) {
            out.printf("Try:  curl -XPUT localhost:%d/v1/kv/hello -d world && curl localhost:%d/v1/kv/hello%n", port,
                    members.get(members.size() - 1).http().getPort());
            out.printf("Watch it live: http://%s:%d/ (metrics: /metrics)%n", HOST, port);
        } else {
            String cacert = "--cacert " + ClusterLauncher.shellLine(List.of(httpsCa.toString()));
            out.printf("Try:  curl %s -XPUT %s/v1/kv/hello -d world && curl %s %s/v1/kv/hello%n", cacert,
                    members.get(0).httpUri(), cacert, members.get(members.size() - 1).httpUri());
            out.printf("The CLI: java -jar raft-kv.jar get hello %s --endpoints %s%n", cacert,
                    String.join(",", members.stream().map(m -> m.httpUri().toString()).toList()));
            out.printf("Watch it live: %s/ (metrics: /metrics; a browser trusts it once %s is imported as a CA)%n",
                    members.get(0).httpUri(), httpsCa);
        }
        out.printf("Then kill -9 the leader's PID (%d) and try again. Ctrl-C stops the cluster; logs are in %s/n*/node.log%n",
                leaderPid, members.get(0).dataDir().getParent());
        out.flush();
    }

    /** Stops every child: politely first (their shutdown hooks close storage), then forcibly. */
    private void stopAll() {
        stopping = true;
        for (Child c : children) {
            c.process().destroy();
        }
        for (Child c : children) {
            try {
                if (!c.process().waitFor(5, TimeUnit.SECONDS)) {
                    c.process().destroyForcibly();
                }
            } catch (InterruptedException e) {
                c.process().destroyForcibly();
            }
        }
        out.println("stopped " + String.join(" ", children.stream().map(c -> c.member().id()).toList()));
        out.flush();
    }
}
