package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.RaftServer;
import org.raftkit.runtime.Await;
import org.raftkit.transport.netty.TlsConfig;

/**
 * What {@code cluster --tls} and {@code bench --tls} do, in one JVM: throwaway certificates under
 * the data directory (the CA as {@code ca.pem} at its top), reused by the next start, and three KV
 * nodes that elect a leader and commit over mutual TLS with them.
 */
class KvTlsTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    private final List<KvNode> nodes = new ArrayList<>();

    @AfterEach
    void stop() {
        nodes.forEach(KvNode::close);
    }

    @Test
    void throwawayCertificatesLetThreeNodesCommitOverTls() throws Exception {
        List<String> ids = List.of("n1", "n2", "n3");
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Map<String, TlsConfig> tls = TlsFlags.throwaway(dir, KvNode.DEFAULT_CLUSTER_ID, ids, quiet);
        assertThat(dir.resolve("ca.pem")).exists();
        assertThat(tls.get("n2").certificateChainFile()).isEqualTo(dir.resolve("n2/tls/node.pem"));
        String ca = Files.readString(dir.resolve("ca.pem"));
        assertThat(TlsFlags.throwaway(dir, KvNode.DEFAULT_CLUSTER_ID, ids, quiet)).isEqualTo(tls);
        assertThat(Files.readString(dir.resolve("ca.pem"))).as("reused on the next start").isEqualTo(ca);

        Map<String, InetSocketAddress> peers = new LinkedHashMap<>();
        for (String id : ids) {
            peers.put(id, freePort());
        }
        for (String id : ids) {
            nodes.add(KvNode.start(new KvNode.Settings(id, peers.get(id), null, peers, dir.resolve(id), false,
                    KvNode.DEFAULT_MAX_VALUE_BYTES, KvNode.DEFAULT_CLUSTER_ID, tls.get(id)), KvNode.loggingListener()));
        }
        AtomicReference<byte[]> answer = new AtomicReference<>();
        Await.await(WAIT, () -> {
            for (KvNode node : nodes) {
                RaftServer s = node.server();
                if (s.status().isLeader()) {
                    try {
                        answer.set(s.submit(KvCommand.put("k", "v".getBytes(StandardCharsets.UTF_8),
                                KvCommand.Condition.NONE, 0)).get(10, TimeUnit.SECONDS));
                        return true;
                    } catch (Exception e) {
                        return false; // leadership moved: look again
                    }
                }
            }
            return false;
        }, () -> "a leader to commit over TLS");
        assertThat(answer.get()).isNotNull();
    }

    @Test
    void aMissingCertificateFileIsNamedAndTheNodeDoesNotStart() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Path missing = dir.resolve("n1.pem");
        int code = KvMain.run(new String[] {"serve", "--id", "n1", "--raft", "127.0.0.1:0", "--http", "127.0.0.1:0",
                "--peers", "n1=127.0.0.1:7001", "--data", dir.resolve("n1").toString(),
                "--tls-cert", missing.toString(), "--tls-key", dir.resolve("n1.key").toString(),
                "--tls-ca", dir.resolve("ca.pem").toString()},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains(missing.toString());
    }

    private static InetSocketAddress freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort());
        }
    }
}
