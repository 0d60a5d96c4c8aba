package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;


import org.junit.jupiter.api.Test;

/** A wrong command line gets exit code 2 and one line naming what was wrong. */
class KvMainTest {

    private static KvMainRun run(String... args) {
        return KvMainRun.of(args);
    }

    @Test
    void helpListsEveryCommand() {
        KvMainRun r = run("help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("cluster", "serve", "put", "get", "delete", "status", "snapshot", "bench",
                "bench-log", "--snapshot-entries", "--snapshot-bytes", "--snapshot-interval", "--snapshot-trailing", "--segment-bytes",
                "--cacert", "--http-tls-cert", "--http-tls-key", "--http-tls-ca", "https://");
        assertThat(run().code()).isEqualTo(2);
    }

    @Test
    void mistakesNameTheFlagOrArgument() {
        assertThat(run("frobnicate")).satisfies(r -> {
            assertThat(r.code()).isEqualTo(2);
            assertThat(r.err()).startsWith("error: unknown command 'frobnicate'");
        });
        assertThat(run("put", "k", "v", "--colour", "red").err()).contains("unknown flag --colour for 'put'");
        assertThat(run("put", "k").err()).contains("'put' takes 2 argument(s): KEY VALUE; got 1");
        assertThat(run("get", "k", "--timeout", "soon").err()).contains("--timeout must be a duration");
        assertThat(run("get", "k", "--consistency", "eventual").err()).contains("--consistency must be");
        assertThat(run("get", "k", "--endpoints", "127.0.0.1:8001").err()).contains("--endpoints must be http://");
        assertThat(run("cluster", "--nodes", "0").err()).contains("--nodes must be between 1 and 9, was 0");
        assertThat(run("cluster", "--nodes").err()).contains("flag --nodes needs a value");
        assertThat(run("serve", "--id", "n1").err()).contains("'serve' needs --raft");
        assertThat(run("serve", "--id", "n4", "--raft", "127.0.0.1:7001", "--http", "127.0.0.1:8001",
                "--peers", "n1=127.0.0.1:7001", "--data", "x").err()).contains("must include this node's own id n4");
        assertThat(run("serve", "--id", "n1", "--raft", "127.0.0.1:99999", "--http", "127.0.0.1:8001",
                "--peers", "n1=127.0.0.1:7001", "--data", "x").err()).contains("--raft has a bad port");
        assertThat(run("bench", "--fsync", "maybe").err()).contains("--fsync must be true or false, was 'maybe'");
        assertThat(run("bench", "--clients", "-1").code()).isEqualTo(2);
        // One limit from the HTTP body to the wire: a value must fit one command (issue 9).
        assertThat(run("serve", "--id", "n1", "--raft", "127.0.0.1:7001", "--http", "127.0.0.1:8001",
                "--peers", "n1=127.0.0.1:7001", "--data", "x", "--max-value-bytes", String.valueOf(64 << 20)).err())
                .contains("--max-value-bytes must be between 1 and " + KvNode.MAX_VALUE_BYTES);
        assertThat(run("serve", "--id", "n1", "--raft", "127.0.0.1:7001", "--http", "127.0.0.1:8001",
                "--peers", "n1=127.0.0.1:7001", "--data", "x", "--tls-cert", "c.pem").err())
                .contains("TLS needs all of --tls-cert, --tls-key and --tls-ca; --tls-key is missing");
        assertThat(run("cluster", "--tls", "--tls-ca", "ca.pem").err()).contains("give either it or --tls-cert");
        assertThat(run("serve", "--id", "n1", "--raft", "127.0.0.1:7001", "--http", "127.0.0.1:8001",
                "--peers", "n1=127.0.0.1:7001", "--data", "x", "--http-tls-cert", "api.pem").err())
                .contains("HTTPS needs a certificate, a key and a CA bundle").contains("--http-tls-key is missing");
        assertThat(run("get", "k", "--cacert").err()).contains("flag --cacert needs a value");
        assertThat(run("cluster", "--tls-cert", "a.pem", "--tls-key", "a.key", "--tls-ca", "ca.pem").err())
                .contains("put {id} in --tls-cert");
    }

    @Test
    void httpsUsesTheRaftPortsFilesUnlessAnHttpFlagReplacesOne() {
        org.raftkit.transport.netty.TlsConfig raft = org.raftkit.transport.netty.TlsConfig.mutual(
                java.nio.file.Path.of("n1.pem"), java.nio.file.Path.of("n1.key"), java.nio.file.Path.of("ca.pem"));
        assertThat(HttpTls.fromFlags(Flags.parse("serve", new String[0], HttpTls.FLAGS), raft))
                .isEqualTo(HttpTls.sameAs(raft));
        HttpTls replaced = HttpTls.fromFlags(Flags.parse("serve", new String[] {"--http-tls-cert", "api.pem"},
                HttpTls.FLAGS), raft);
        assertThat(replaced.certificateChainFile()).isEqualTo(java.nio.file.Path.of("api.pem"));
        assertThat(replaced.privateKeyFile()).isEqualTo(raft.privateKeyFile());
        assertThat(replaced.trustedCertificatesFile()).isEqualTo(raft.trustedCertificatesFile());
        assertThat(HttpTls.fromFlags(Flags.parse("serve", new String[0], HttpTls.FLAGS),
                org.raftkit.transport.netty.TlsConfig.plaintext()).enabled()).isFalse();
    }

    @Test
    void flagsAreCheckedPerCommand() {
        KvMainRun r = run("put", "k", "v", "--consistency", "stale");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown flag --consistency for 'put'");
        assertThat(run("delete", "k", "--if-none-match", "*").err()).contains("unknown flag --if-none-match for 'delete'");
        assertThat(run("status", "--if-match", "3").err()).contains("unknown flag --if-match for 'status'");
    }

    @Test
    void aDoubleDashEndsTheFlagsSoAKeyMayStartWithADash() {
        Flags f = Flags.parse("put", new String[] {"--timeout", "1s", "--", "--key", "-v"}, java.util.Set.of("timeout"));
        assertThat(f.positional()).containsExactly("--key", "-v");
        assertThat(f.millis("timeout", 0)).isEqualTo(1000);
    }

    @Test
    void anUnresolvableHostIsNamedNotNull() {
        KvMainRun r = run("serve", "--id", "n1", "--raft", "127.0.0.1:7001", "--http", "no-such-host.invalid:8001",
                "--peers", "n1=127.0.0.1:7001", "--data", "x");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--http: cannot resolve host 'no-such-host.invalid'").doesNotContain("null");
    }

    @Test
    void clusterRefusesOverlappingPortRangesUpFront() {
        KvMainRun r = run("cluster", "--http-port", "7002", "--raft-port", "7001");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--http-port 7002..7004 overlaps --raft-port 7001..7003");
    }

    @Test
    void clusterRefusesAnotherNumberOfNodesOnExistingData(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        for (String id : java.util.List.of("n1", "n2", "n3")) {
            java.nio.file.Files.createDirectories(dir.resolve(id).resolve("log"));
        }
        KvMainRun r = run("cluster", "--nodes", "5", "--dir", dir.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("holds the data of a 3-node cluster [n1, n2, n3]; --nodes 5 would start a different cluster");
    }

    @Test
    void tuningFlagsAreCheckedAndPassedToEveryNode() {
        KvMainRun r = run("serve", "--id", "n1", "--raft", "127.0.0.1:7001", "--http", "127.0.0.1:8001",
                "--peers", "n1=127.0.0.1:7001", "--data", "x", "--election-timeout-min", "300ms",
                "--election-timeout-max", "200ms");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--election-timeout-min 300ms, --election-timeout-max 200ms");
        Flags f = Flags.parse("cluster", new String[] {"--fsync", "false", "--election-timeout-min", "1s"},
                RaftFlags.NAMES);
        assertThat(RaftFlags.forServe(f)).containsExactly("--election-timeout-min", "1s", "--fsync", "false");
        assertThat(RaftFlags.config(f).electionTimeoutMaxMillis()).isEqualTo(2000);
    }

    @Test
    void snapshotFlagsAreCheckedAndPassedToEveryNode() {
        Flags f = Flags.parse("cluster", new String[] {"--snapshot-entries", "50", "--snapshot-bytes", "4MiB",
                "--snapshot-interval", "10m", "--snapshot-trailing", "10"}, RaftFlags.NAMES);
        assertThat(RaftFlags.forServe(f)).containsExactly("--snapshot-bytes", "4MiB", "--snapshot-entries", "50",
                "--snapshot-interval", "10m", "--snapshot-trailing", "10");
        org.raftkit.SnapshotConfig c = RaftFlags.snapshotConfig(f);
        assertThat(c.everyEntries()).isEqualTo(50);
        assertThat(c.everyBytes()).isEqualTo(4L << 20);
        assertThat(c.intervalMillis()).isEqualTo(600_000);
        assertThat(c.trailingEntries()).isEqualTo(10);
        assertThat(RaftFlags.snapshotConfig(Flags.parse("serve", new String[0], RaftFlags.NAMES)))
                .isEqualTo(org.raftkit.SnapshotConfig.defaults());
        assertThat(RaftFlags.snapshotConfig(Flags.parse("serve", new String[] {"--snapshot-trailing", "0",
                "--snapshot-bytes", "1000"}, RaftFlags.NAMES))).satisfies(z -> {
                    assertThat(z.trailingEntries()).isZero();
                    assertThat(z.everyBytes()).isEqualTo(1000);
                });

        String[] serve = {"serve", "--id", "n1", "--raft", "127.0.0.1:7001", "--http", "127.0.0.1:8001",
                "--peers", "n1=127.0.0.1:7001", "--data", "x"};
        assertThat(run(with(serve, "--snapshot-entries", "0")).err()).contains("--snapshot-entries must be between 1");
        assertThat(run(with(serve, "--snapshot-entries", "many")).err()).contains("--snapshot-entries must be a whole number");
        assertThat(run(with(serve, "--snapshot-bytes", "64MB")).err()).contains("--snapshot-bytes must be a size in bytes");
        assertThat(run(with(serve, "--snapshot-bytes", "0")).err()).contains("--snapshot-bytes must be a size in bytes");
        assertThat(run(with(serve, "--snapshot-interval", "0s")).err()).contains("--snapshot-interval must be at least 1ms");
        assertThat(run(with(serve, "--snapshot-interval", "soon")).err()).contains("--snapshot-interval must be a duration");
        assertThat(run(with(serve, "--snapshot-trailing", "-1")).err()).contains("--snapshot-trailing must be between 0");
        assertThat(run(with(serve, "--snapshot-trailing", "-1")).code()).isEqualTo(2);
        assertThat(run("cluster", "--snapshot-entries", "x").code()).isEqualTo(2);
        assertThat(run(with(serve, "--segment-bytes", "512")).err()).contains("--segment-bytes 512")
                .contains("segmentSizeBytes must be in [1 KiB, 1 GiB]");
        assertThat(RaftFlags.logSettings(Flags.parse("serve", new String[] {"--segment-bytes", "1MiB"}, RaftFlags.NAMES))
                .segmentBytes()).isEqualTo(1L << 20);
    }

    @Test
    void theSnapshotCommandTakesOnlyEndpointsAndATimeout() {
        assertThat(run("snapshot", "n1").err()).contains("'snapshot' takes 0 argument(s)");
        assertThat(run("snapshot", "--if-match", "3").err()).contains("unknown flag --if-match for 'snapshot'");
        KvMainRun unreachable = run("snapshot", "--endpoints", "http://127.0.0.1:1", "--timeout", "1s");
        assertThat(unreachable.code()).isEqualTo(1);
        assertThat(unreachable.err()).startsWith("error: gave up");
    }

    private static String[] with(String[] base, String... more) {
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @Test
    void aRestartCommandIsPastableIntoAShell() {
        assertThat(ClusterLauncher.shellLine(java.util.List.of("java", "-cp", "a b.jar", "it's")))
                .isEqualTo("java -cp 'a b.jar' 'it'\\''s'");
    }

    @Test
    void nodesStartedByTheLauncherExitOnOutOfMemory() {
        ClusterLauncher.Member m = new ClusterLauncher.Member("n1", new java.net.InetSocketAddress("127.0.0.1", 7001),
                new java.net.InetSocketAddress("127.0.0.1", 8001), java.nio.file.Path.of("data", "n1"));
        java.util.List<String> command = ClusterLauncher.serveCommand(m, java.util.List.of(m), java.util.List.of());
        assertThat(command).contains("-XX:+ExitOnOutOfMemoryError", "--http-peers", "n1=127.0.0.1:8001");
    }

    /**
     * Issue 15: under a descriptor flood, watching the launcher failed as if it had ended, and
     * nodes launched by {@code cluster} exited. The check that decides needs no descriptor.
     */
    @Test
    void aLauncherThatStillRunsIsToldFromOneThatEnded() {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(java.nio.file.Path.of("/proc")),
                "no /proc on this system");
        assertThat(KvMain.launcherStillRuns(ProcessHandle.current().pid())).isTrue();
        assertThat(KvMain.launcherStillRuns(Long.MAX_VALUE)).isFalse();
    }
}
