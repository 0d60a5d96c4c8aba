package org.raftkit.examples.kv;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import org.raftkit.storage.bench.LogBench;
import org.raftkit.transport.netty.TlsConfig;


/**
 * {@code java -jar raft-kv.jar <command>}: the KV example's entry point (docs/OPERATIONS.md). Exit codes:
 * 0 success, 1 the operation failed (one line on stderr says why), 2 a wrong command line.
 */
public final class KvMain {

    private static final String USAGE = """
            usage: java -jar raft-kv.jar <command> [flags]
              cluster   [--nodes 3] [--dir ./data] [--http-port 8001] [--raft-port 7001] [tuning]
                        [--tls | --tls-cert F --tls-key F --tls-ca F]
                        a local cluster, one process per node; Ctrl-C stops it. --tls makes a
                        throwaway CA (DIR/ca.pem) and node certificates; {id} in a file flag
                        stands for the node's id. With TLS the HTTP API is HTTPS: use the CLI
                        with --cacert DIR/ca.pem --endpoints https://127.0.0.1:8001,…
              serve     --id n1 --raft 127.0.0.1:7001 --http 127.0.0.1:8001
                        --peers n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003 --data DIR
                        [--cluster-id raft-kv] [--max-value-bytes 1048576] [--http-peers n1=HOST:PORT,…]
                        (--http-peers: the other nodes' HTTP API, for the cluster view, and asked by a
                        node with an empty data directory whether it ran before: if it did, its data
                        was lost, and it refuses to start)
                        [--tls-cert CHAIN.pem --tls-key KEY.pem --tls-ca CA.pem]  (mutual TLS, Raft port;
                        the HTTP API then serves HTTPS with the same files, no client certificates)
                        [--http-tls-cert F] [--http-tls-key F] [--http-tls-ca F]  (other files for HTTPS;
                        --http-tls-ca: the CAs the cluster view trusts for peers' HTTPS)
                        [--join]  (a new node: starts with no configuration and waits until the leader
                        adds it with 'member add'; --peers then lists the current members and this
                        node, and a joined node keeps --join on every restart)
                        [tuning]
              tuning:   [--fsync true] [--election-timeout-min 150ms] [--election-timeout-max 300ms]
                        [--heartbeat-interval 50ms] [--lease-reads true] [--snapshot-entries 100000] [--snapshot-bytes 64MiB]
                        [--snapshot-interval 1h] [--snapshot-trailing 10000] [--segment-bytes 64MiB]
              put KEY VALUE  [--if-match REV] [--if-none-match '*'] [--endpoints URL,…] [--timeout 10s]
                        ('--' ends the flags: put -- -key value)
              get KEY        [--consistency linearizable|lease|stale] [--endpoints URL,…] [--timeout 10s]
              delete KEY     [--if-match REV] [--endpoints URL,…] [--timeout 10s]
              status         [--endpoints URL,…]
              snapshot       [--endpoints URL,…] [--timeout 60s]
                        a snapshot on the first node that answers, which then compacts its log
              member list    [--endpoints URL,…]   the members (id, raft address, kind) and the configuration index
              member add --id ID --raft HOST:PORT [--learner] [--endpoints URL,…] [--timeout 40s]
                        start the node with 'serve --join' first; without --learner it is added as a
                        learner and promoted to voter once it has caught up
              member promote --id ID   [--endpoints URL,…] [--timeout 10s]   a learner becomes a voter
              member remove --id ID    [--endpoints URL,…] [--timeout 10s]
              transfer-leader --to ID  [--endpoints URL,…] [--timeout 10s]
              put, get, delete, status, snapshot, member and transfer-leader also take [--cacert CA.pem]:
                        the CAs to trust for https:// endpoints (instead of the JDK's default ones)
              bench     [--nodes 3] [--clients 64] [--payload 128] [--duration 10s] [--warmup 3s]
                        [--fsync true|false] [--tls] [--out FILE]   (every node in this JVM)
              bench --mode reads [--clients 64] [--duration 10s] [--warmup 3s] [--rounds 3] [--fsync true|false]
                        (linearizable, lease and stale reads through the leader and a follower, in turns)
              bench --mode processes [--nodes 3] [--clients 64] [--connections clients/32] [--payload 128]
                        [--duration 10s] [--warmup 3s] [--fsync true|false] [--target leader|all]
                        [--trace-every N] [--node-java-options '-Xmx1g …'] [--node-jar JAR] [--dir DIR] [--out FILE]
                        [--floor true|false] (default: true with --clients 1 and fsync on)
                        each node a serve process, load over HTTP from this one; CPU per write from /proc;
                        the floor: one fsync + one loopback round trip + one fsync, measured in the same run
              bench --mode failover [--kills 20] [--fsync true|false] [--node-java-options …] [--node-jar JAR] [--dir DIR]
                        kill -9 the leader, time the first write through a follower, restart, repeat
              bench --mode replace [--clients 16] [--phase 10s] [--warmup 5s] [--target leader|all]
                        [--fsync true|false] [--node-java-options …] [--node-jar JAR] [--dir DIR] [--out FILE]
                        under load: kill -9 a follower, start a node with serve --join, add it (learner,
                        promoted) and remove the dead one over HTTP; latency before/during/after
              bench --mode rolling-restart [--stop graceful|kill] [--pause 2s] [--clients 16] [--phase 10s]
                        [--warmup 5s] [--target leader|all] [--fsync …] [--node-java-options …] [--node-jar JAR]
                        under load: restart each node in turn, followers first and the leader last, with
                        SIGTERM (a leader hands over first) or kill -9; the longest gap between writes
              bench-log [--payload 128] [--batch 64] [--seconds 10] [--dir DIR]
              bench-snapshot [--mode snapshot|restart] [--keys N] [--writes 10000000] [--payload 128]
                        [--clients 256] [--phase 10s] [--rounds 2] [--snapshot-entries N]
                        [--snapshot-trailing 10000] [--segment-bytes 64MiB] [--chunk-bytes 1MiB]
                        [--chunks-in-flight 4] [--dir DIR] [--out FILE]
              bench-snapshot --processes [--keys N] [--payload 128] [--clients 256] [--phase 10s] [--rounds 2]
                        [--node-jar JAR] [--node-java-options …] [--dir DIR] [--out FILE]
                        write p99 while snapshots are taken and a follower installs one, each node a serve process
            endpoints default to""" + " " + KvClient.DEFAULT_ENDPOINTS;

    private KvMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command; returns the process exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            (args.length == 0 ? err : out).println(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        String command = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            switch (command) {
                case "cluster" -> {
                    return cluster(rest, out);
                }
                case "serve" -> {
                    return serve(rest);
                }
                case "member" -> {
                    return member(rest, out);
                }
                case "transfer-leader" -> {
                    Flags f = Flags.parse(command, rest, Set.of("to", "endpoints", "timeout", "cacert"));
                    f.expectPositional();
                    clientFor(f, 10_000).transferLeader(f.required("to"), out);
                    return 0;
                }
                case "put", "get", "delete", "status", "snapshot" -> {
                    return client(command, rest, out);
                }
                case "bench" -> {
                    return KvBench.run(Flags.parse("bench", rest, KvBench.FLAGS, Set.of(TlsFlags.GENERATE)), out, err);
                }
                case "bench-snapshot" -> {
                    return KvSnapshotBench.run(Flags.parse("bench-snapshot", rest, KvSnapshotBench.FLAGS, Set.of("processes")),
                            out, err);
                }
                case "bench-log" -> {
                    LogBench.main(rest);
                    return 0;
                }
                default -> throw new Flags.UsageException("unknown command '" + command
                        + "' (one of cluster, serve, put, get, delete, status, snapshot, member, transfer-leader, bench, "
                        + "bench-log, bench-snapshot)");
            }
        } catch (Flags.UsageException e) {
            err.println("error: " + e.getMessage());
            err.println("run 'java -jar raft-kv.jar help' for the commands and flags");
            return 2;
        } catch (KvClient.ClientException e) {
            err.println("error: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("error: interrupted");
            return 1;
        } catch (java.io.IOException | RuntimeException e) {
            err.println("error: " + describe(e));
            return 1;
        }
    }

    /** The exception's message, or its type when it has none (never "null"). */
    static String describe(Throwable e) {
        String message = e.getMessage();
        return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
    }

    private static int cluster(String[] args, PrintStream out) throws InterruptedException {
        Flags f = Flags.parse("cluster", args, with(RaftFlags.NAMES, "nodes", "dir", "http-port", "raft-port",
                "tls-cert", "tls-key", "tls-ca"), Set.of(TlsFlags.GENERATE));
        f.expectPositional();
        int nodes = f.integer("nodes", 3, 1, 9);
        int httpPort = f.integer("http-port", 8001, 1, 65535 - nodes);
        int raftPort = f.integer("raft-port", 7001, 1, 65535 - nodes);
        Path dir = Path.of(f.string("dir", "./data")).toAbsolutePath().normalize();
        if (f.has(TlsFlags.GENERATE) && TlsFlags.filesGiven(f)) {
            throw new Flags.UsageException("--tls makes its own certificates; give either it or --tls-cert/--tls-key/--tls-ca");
        }
        if (nodes > 1 && TlsFlags.filesGiven(f) && !f.string("tls-cert", "").contains("{id}")) {
            throw new Flags.UsageException("each node needs its own certificate: put {id} in --tls-cert and --tls-key, "
                    + "e.g. --tls-cert certs/{id}.pem");
        }
        Map<String, TlsConfig> tls = new LinkedHashMap<>();
        List<String> ids = java.util.stream.IntStream.rangeClosed(1, nodes).mapToObj(i -> "n" + i).toList();
        if (f.has(TlsFlags.GENERATE)) {
            tls.putAll(TlsFlags.throwaway(dir, KvNode.DEFAULT_CLUSTER_ID, ids, out));
        } else {
            ids.forEach(id -> tls.put(id, TlsFlags.fromFiles(f, id)));
        }
        return new ClusterLauncher(nodes, dir, httpPort, raftPort, RaftFlags.forServe(f), tls, out).run();
    }

    private static int serve(String[] args) throws InterruptedException {
        Flags f = Flags.parse("serve", args, with(RaftFlags.NAMES, "id", "raft", "http", "peers", "data",
                "cluster-id", "max-value-bytes", "exit-with", "http-peers", "tls-cert", "tls-key", "tls-ca",
                "http-tls-cert", "http-tls-key", "http-tls-ca"), Set.of("join"));
        f.expectPositional();
        org.raftkit.RaftConfig config = RaftFlags.config(f);
        KvNode.LogSettings logSettings = RaftFlags.logSettings(f);
        KvNode.Settings settings;
        try {
            TlsConfig tls = TlsFlags.fromFiles(f, f.required("id"));
            settings = new KvNode.Settings(f.required("id"), Flags.address("raft", f.required("raft")),
                    Flags.address("http", f.required("http")), Flags.peers("peers", f.required("peers")),
                    Path.of(f.required("data")), RaftFlags.fsync(f),
                    f.integer("max-value-bytes", KvNode.DEFAULT_MAX_VALUE_BYTES, 1, KvNode.MAX_VALUE_BYTES),
                    f.string("cluster-id", KvNode.DEFAULT_CLUSTER_ID), tls, HttpTls.fromFlags(f, tls), f.has("join"));
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
        exitOnOutOfMemory();
        CountDownLatch stopped = new CountDownLatch(1);
        Map<String, InetSocketAddress> httpPeers = f.string("http-peers", null) == null ? Map.of()
                : Flags.peers("http-peers", f.string("http-peers", null));
        KvNode node = KvNode.start(settings, config, logSettings, httpPeers, new org.raftkit.RaftListener() {
            @Override
            public void onFailure(Throwable cause) {
                KvNode.loggingListener().onFailure(cause);
                stopped.countDown();
            }
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close();
            stopped.countDown();
        }, "kv-serve-stop"));
        String parent = f.string("exit-with", null);
        if (parent != null) {
            // Launched by `cluster`: a node must not outlive its launcher, even one killed with -9.
            exitWithLauncher(Long.parseLong(parent));
        }
        stopped.await();
        // Fail-stop: a node that can no longer trust its disk or state machine leaves the process,
        // so the operator (or `cluster`) sees it; its data is left as it was for investigation.
        return node.server().status().state() == org.raftkit.RaftStatus.State.FAILED ? 1 : 0;
    }

    /** Exits this process once the launcher with this pid has ended. */
    private static void exitWithLauncher(long pid) {
        ProcessHandle.of(pid).ifPresentOrElse(p -> p.onExit().thenRun(() -> launcherMayBeGone(pid)),
                () -> launcherMayBeGone(pid));
    }

    /**
     * Watching another process reads {@code /proc}, which fails when this process has run out of
     * file descriptors, and looks just like the launcher having ended: a node under a descriptor
     * flood used to exit for it. A stat of {@code /proc/PID} needs no descriptor, so it tells the
     * two apart: if the launcher is still there, keep running and watch again in a second.
     */
    static void launcherMayBeGone(long pid) {
        if (launcherStillRuns(pid)) {
            System.err.println("warning: could not watch launcher " + pid + " (out of file descriptors?); it still "
                    + "runs, so this node stays up");
            java.util.concurrent.CompletableFuture.delayedExecutor(1, java.util.concurrent.TimeUnit.SECONDS)
                    .execute(() -> exitWithLauncher(pid));
            return;
        }
        System.exit(0);
    }

    /** Whether the process still exists, by a stat of {@code /proc/PID} (false where there is no /proc). */
    static boolean launcherStillRuns(long pid) {
        return java.nio.file.Files.exists(java.nio.file.Path.of("/proc", Long.toString(pid)));
    }

    /**
     * A thread that dies of OutOfMemoryError leaves a node that still answers {@code /v1/status} but
     * no longer applies: end the process instead (the launcher also passes
     * {@code -XX:+ExitOnOutOfMemoryError}, which covers errors that are caught and swallowed).
     */
    private static void exitOnOutOfMemory() {
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            if (e instanceof OutOfMemoryError) {
                System.err.println("fatal: " + thread.getName() + " ran out of memory; exiting");
                Runtime.getRuntime().halt(3);
            }
            System.err.println("uncaught exception on " + thread.getName() + ": " + e);
            e.printStackTrace();
        });
    }

    private static Set<String> with(Set<String> shared, String... names) {
        Set<String> all = new java.util.HashSet<>(shared);
        all.addAll(List.of(names));
        return all;
    }

    /** {@code member list|add|promote|remove}: the membership endpoints, from the command line. */
    private static int member(String[] args, PrintStream out) {
        if (args.length == 0 || args[0].startsWith("-")) {
            throw new Flags.UsageException("member needs a subcommand: list, add, promote or remove");
        }
        String sub = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (sub) {
            case "list" -> {
                Flags f = Flags.parse("member list", rest, Set.of("endpoints", "timeout", "cacert"));
                f.expectPositional();
                clientFor(f, 10_000).memberList(out);
            }
            case "add" -> {
                Flags f = Flags.parse("member add", rest, Set.of("id", "raft", "endpoints", "timeout", "cacert"),
                        Set.of("learner"));
                f.expectPositional();
                // Adding a voter waits for it to catch up (up to 30 s on the node): give it longer.
                clientFor(f, f.has("learner") ? 10_000 : 40_000).memberAdd(f.required("id"), f.required("raft"),
                        f.has("learner"), out);
            }
            case "promote" -> {
                Flags f = Flags.parse("member promote", rest, Set.of("id", "endpoints", "timeout", "cacert"));
                f.expectPositional();
                clientFor(f, 10_000).memberPromote(f.required("id"), out);
            }
            case "remove" -> {
                Flags f = Flags.parse("member remove", rest, Set.of("id", "endpoints", "timeout", "cacert"));
                f.expectPositional();
                clientFor(f, 10_000).memberRemove(f.required("id"), out);
            }
            default -> throw new Flags.UsageException("unknown member subcommand '" + sub
                    + "' (one of list, add, promote, remove)");
        }
        return 0;
    }

    /** A client for {@code --endpoints}, {@code --timeout} (default {@code defaultTimeoutMillis}) and {@code --cacert}. */
    private static KvClient clientFor(Flags f, long defaultTimeoutMillis) {
        String cacert = f.string("cacert", null);
        return new KvClient(KvClient.endpoints(f.string("endpoints", KvClient.DEFAULT_ENDPOINTS)),
                f.millis("timeout", defaultTimeoutMillis), cacert == null ? null : Path.of(cacert));
    }

    private static int client(String command, String[] args, PrintStream out) {
        Flags f = Flags.parse(command, args, switch (command) {
            case "put" -> Set.of("endpoints", "timeout", "if-match", "if-none-match", "cacert");
            case "get" -> Set.of("endpoints", "timeout", "consistency", "cacert");
            case "delete" -> Set.of("endpoints", "timeout", "if-match", "cacert");
            case "snapshot" -> Set.of("endpoints", "timeout", "cacert");
            default -> Set.of("endpoints", "cacert");
        });
        String cacert = f.string("cacert", null);
        // A snapshot writes the whole state to disk: give it longer than a single write.
        KvClient client = new KvClient(KvClient.endpoints(f.string("endpoints", KvClient.DEFAULT_ENDPOINTS)),
                f.millis("timeout", command.equals("snapshot") ? 60_000 : 10_000), cacert == null ? null : Path.of(cacert));
        switch (command) {
            case "put" -> {
                f.expectPositional("KEY", "VALUE");
                client.put(f.positional().get(0), f.positional().get(1).getBytes(StandardCharsets.UTF_8),
                        f.string("if-match", null), f.string("if-none-match", null), out);
            }
            case "get" -> {
                f.expectPositional("KEY");
                String consistency = f.string("consistency", "linearizable");
                if (!List.of("linearizable", "lease", "stale").contains(consistency)) {
                    throw new Flags.UsageException("--consistency must be linearizable, lease or stale, was '" + consistency + "'");
                }
                client.get(f.positional().get(0), consistency, out);
            }
            case "delete" -> {
                f.expectPositional("KEY");
                client.delete(f.positional().get(0), f.string("if-match", null), out);
            }
            case "snapshot" -> {
                f.expectPositional();
                client.snapshot(out);
            }
            default -> {
                f.expectPositional();
                client.status(out);
            }
        }
        return 0;
    }
}
