package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import io.netty.handler.ssl.SslContextBuilder;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.RaftMessage;
import org.raftkit.runtime.Await;
import org.raftkit.transport.netty.tls.DevCertificates;
import org.raftkit.transport.netty.tls.DevCertificates.NodeFiles;
import org.raftkit.transport.netty.wire.Envelope;

/**
 * A three-node cluster over mutual TLS, attacked at n1 by peers that know the cluster id and the
 * member ids (both shown by the KV example's status page) but hold no valid certificate for the
 * node they claim to be. Each must be refused in the TLS handshake or, for a valid certificate of
 * another node, at the Hello; counted; nothing reaches Raft; and the cluster still commits.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MutualTlsTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String CLUSTER = LoopbackCluster.CLUSTER_ID;
    private static final String TARGET = "n1";
    /** No real term gets near this; a delivered message carrying it came from a test's fake peer. */
    private static final long MARKER_TERM = 1L << 40;

    private Path dir;
    private final Map<String, NodeFiles> members = new LinkedHashMap<>();
    private NodeFiles otherCaN2;
    private NodeFiles expiredN2;
    private LoopbackCluster cluster;
    private final AtomicInteger writes = new AtomicInteger();

    @BeforeAll
    void issueCertificatesAndStartCluster() throws IOException {
        dir = Files.createTempDirectory("raftkit-tls-test");
        DevCertificates ca = DevCertificates.createAuthority(dir.resolve("ca"), "test-ca");
        for (String id : new String[] {"n1", "n2", "n3"}) {
            members.put(id, ca.issue(dir.resolve(id), CLUSTER, id));
        }
        expiredN2 = ca.issue(dir.resolve("expired"), CLUSTER, "n2", -10, 1);
        otherCaN2 = DevCertificates.createAuthority(dir.resolve("other-ca"), "intruder-ca")
                .issue(dir.resolve("intruder"), CLUSTER, "n2");
        cluster = new LoopbackCluster(3, LoopbackCluster.fastRaftConfig(),
                (id, b) -> b.tls(members.get(id).tlsConfig()).handshakeTimeoutMillis(2_000));
        cluster.recordDeliveredIf(m -> m instanceof RaftMessage && ((RaftMessage) m).term() >= MARKER_TERM);
        cluster.startAll();
    }

    @AfterEach
    void clusterStillCommitsOverTls() {
        cluster.assertStillCommits(writes.incrementAndGet(), WAIT);
    }

    @AfterAll
    void stop() throws IOException {
        if (cluster != null) {
            cluster.close();
        }
        deleteTree(dir);
    }

    @Test
    void membersTalkOverTlsAndRealPeersAreNeverRefused() {
        for (String id : cluster.ids().subList(1, 3)) { // not n1, the target of the attacks
            TransportStats s = cluster.transport(id).stats();
            assertThat(s.rejected(RejectReason.TLS_HANDSHAKE_FAILED) + s.rejected(RejectReason.CERTIFICATE_MISMATCH))
                    .as(id + " refused a member").isZero();
        }
    }

    @Test
    void forgedPeerWithoutCertificateIsRefused() throws Exception {
        SSLContext noCertificate = TlsClients.jdkContext(SslContextBuilder.forClient()
                .trustManager(members.get("n2").trustedCertificates().toFile()));
        expectTlsRefused(noCertificate);
    }

    @Test
    void certificateFromAnotherCaIsRefused() throws Exception {
        expectTlsRefused(TlsClients.insistentClientContext(otherCaN2, members.get("n2").trustedCertificates()));
    }

    @Test
    void expiredCertificateIsRefused() throws Exception {
        expectTlsRefused(TlsClients.insistentClientContext(expiredN2, expiredN2.trustedCertificates()));
    }

    @Test
    void plaintextPeerWithAForgedHelloIsRefusedBeforeTheFrameDecoder() throws IOException {
        long before = stats().rejected(RejectReason.TLS_HANDSHAKE_FAILED);
        long frames = framingRejections();
        try (RawPeer peer = RawPeer.connect(cluster.address(TARGET))) {
            peer.send(Handshake.hello(CLUSTER, "n2", TARGET));
            peer.send(MessageCodec.encode(new Heartbeat("n2", TARGET, MARKER_TERM, 0, 0)));
            assertThat(peer.closedByNodeWithin(WAIT)).isTrue();
        }
        Await.await(WAIT, () -> stats().rejected(RejectReason.TLS_HANDSHAKE_FAILED) == before + 1, () -> "" + stats());
        assertThat(framingRejections()).as("nothing reached the frame decoder").isEqualTo(frames);
    }

    /** n3's own, valid certificate does not let its holder claim to be n2. */
    @Test
    void certificateForAnotherNodeIsRefused() throws Exception {
        long before = stats().rejected(RejectReason.CERTIFICATE_MISMATCH);
        NodeFiles n3 = members.get("n3");
        try (SSLSocket s = tlsSocket(TlsClients.clientContext(n3, n3.trustedCertificates()))) {
            RawPeer peer = RawPeer.of(s);
            Envelope answer = peer.hello(CLUSTER, "n2", TARGET);
            assertThat(answer.getHelloReject().getReason()).isEqualTo("CERTIFICATE_MISMATCH");
            assertThat(peer.closedByNodeWithin(WAIT)).isTrue();
        }
        Await.await(WAIT, () -> stats().rejected(RejectReason.CERTIFICATE_MISMATCH) == before + 1, () -> "" + stats());
    }

    /** The control case for the refusals above: n2's own certificate, claiming n2, is accepted. */
    @Test
    void theRightCertificateForTheClaimedNodeIsAccepted() throws Exception {
        NodeFiles n2 = members.get("n2");
        try (SSLSocket s = tlsSocket(TlsClients.clientContext(n2, n2.trustedCertificates()))) {
            assertThat(RawPeer.of(s).hello(CLUSTER, "n2", TARGET).hasHelloAck()).isTrue();
        }
    }

    /**
     * A node's trust bundle is replaced while it runs (here by one that also trusts the other CA):
     * new connections use the new files, without a restart.
     */
    @Test
    void replacedFilesAreUsedByNewConnections() throws Exception {
        NodeFiles n1 = members.get("n1");
        Path trust = dir.resolve("rotating-trust.pem");
        Files.copy(n1.trustedCertificates(), trust);
        InetSocketAddress listen = FreePorts.loopback(1).get(0);
        NettyTransport standalone = NettyTransport.create(cluster.transportConfig(TARGET).listenAddress(listen)
                .tls(TlsConfig.mutual(n1.certificateChain(), n1.privateKey(), trust)).build());
        try {
            standalone.start(m -> { });
            SSLContext intruder = TlsClients.clientContext(otherCaN2, members.get("n2").trustedCertificates());
            assertThat(helloAccepted(intruder, listen)).as("before the change").isFalse();

            Files.writeString(trust, Files.readString(n1.trustedCertificates())
                    + Files.readString(otherCaN2.trustedCertificates()));
            Await.await(WAIT, () -> helloAccepted(intruder, listen), () -> "the new trust bundle in use");
        } finally {
            standalone.close();
        }
    }

    /**
     * A stale address book (or an attacker on n2's address) with a valid certificate of n3: n1's
     * link to n2 refuses it after the TLS handshake, before sending its Hello.
     */
    @Test
    void nodeAtAPeersAddressWithAnotherNodesCertificateGetsNoHello() throws Exception {
        NodeFiles n3 = members.get("n3");
        SSLContext serverSide = TlsClients.jdkContext(SslContextBuilder.forServer(n3.certificateChain().toFile(),
                n3.privateKey().toFile()).trustManager(n3.trustedCertificates().toFile())
                .clientAuth(io.netty.handler.ssl.ClientAuth.REQUIRE));
        List<InetSocketAddress> ports = FreePorts.loopback(2);
        AtomicInteger bytesFromN1 = new AtomicInteger(-1);
        try (SSLServerSocket impostor = (SSLServerSocket) serverSide.getServerSocketFactory()
                .createServerSocket(ports.get(1).getPort(), 5, ports.get(1).getAddress())) {
            impostor.setSoTimeout((int) WAIT.toMillis());
            NettyTransport standalone = NettyTransport.create(cluster.transportConfig(TARGET)
                    .listenAddress(ports.get(0)).peers(Map.of(TARGET, ports.get(0), "n2", ports.get(1))).build());
            try {
                standalone.start(m -> { });
                try (SSLSocket accepted = (SSLSocket) impostor.accept()) {
                    accepted.setSoTimeout((int) WAIT.toMillis());
                    accepted.startHandshake();
                    int total = 0;
                    try {
                        while (accepted.getInputStream().read() >= 0) {
                            total++;
                        }
                    } catch (IOException closedByN1) {
                        // n1 hung up: what we wait for
                    }
                    bytesFromN1.set(total);
                }
                Await.await(WAIT, () -> standalone.stats().rejected(RejectReason.CERTIFICATE_MISMATCH) >= 1,
                        () -> "" + standalone.stats());
                assertThat(standalone.stats().connectedPeers().get("n2")).isFalse();
            } finally {
                standalone.close();
            }
        }
        assertThat(bytesFromN1).as("application bytes n1 sent the impostor").hasValue(0);
    }

    @Test
    void tls12IsRefusedUnlessAllowed() throws Exception {
        NodeFiles n2 = members.get("n2");
        SSLContext n2Context = TlsClients.clientContext(n2, n2.trustedCertificates());
        assertThat(helloAccepted(n2Context, cluster.address(TARGET), "TLSv1.2")).as("TLS 1.3 only by default")
                .isFalse();
        assertThat(helloAccepted(n2Context, cluster.address(TARGET), "TLSv1.3")).as("the control case").isTrue();

        NodeFiles n1 = members.get("n1");
        InetSocketAddress listen = FreePorts.loopback(1).get(0);
        NettyTransport allowing = NettyTransport.create(cluster.transportConfig(TARGET).listenAddress(listen)
                .tls(n1.tlsConfig().allowingTls12()).build());
        try {
            allowing.start(m -> { });
            assertThat(helloAccepted(n2Context, listen, "TLSv1.2")).as("with allowingTls12()").isTrue();
        } finally {
            allowing.close();
        }
    }

    @Test
    void badFilesAreRefusedAtCreateNamingTheFile() throws IOException {
        NodeFiles n1 = members.get("n1");
        NodeFiles n2 = members.get("n2");
        Path missing = dir.resolve("no-such.pem");
        assertThatThrownBy(() -> create(TlsConfig.mutual(missing, n1.privateKey(), n1.trustedCertificates())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(missing.toString());
        assertThatThrownBy(() -> create(TlsConfig.mutual(n1.certificateChain(), n2.privateKey(),
                n1.trustedCertificates())))
                .hasMessageContaining(n2.privateKey().toString()).hasMessageContaining("does not belong");
        Path leafOnly = dir.resolve("leaf-only.pem");
        String chain = Files.readString(n1.certificateChain(), StandardCharsets.US_ASCII);
        Files.writeString(leafOnly, chain.substring(0, chain.indexOf("-----END CERTIFICATE-----") + 25) + "\n");
        assertThatThrownBy(() -> create(TlsConfig.mutual(n1.certificateChain(), n1.privateKey(), leafOnly)))
                .hasMessageContaining(leafOnly.toString()).hasMessageContaining("no CA certificate");
        Path notPem = dir.resolve("not-a-key.pem");
        Files.writeString(notPem, "hello\n");
        assertThatThrownBy(() -> create(TlsConfig.mutual(n1.certificateChain(), notPem, n1.trustedCertificates())))
                .hasMessageContaining(notPem.toString()).hasMessageContaining("PKCS#8");
        assertThatThrownBy(() -> create(TlsConfig.mutual(n2.certificateChain(), n2.privateKey(),
                n1.trustedCertificates())))
                .hasMessageContaining(n2.certificateChain().toString()).hasMessageContaining("raftkit://loopback/n1");
    }

    // ---------------------------------------------------------------------------------------------

    private void expectTlsRefused(SSLContext attacker) throws Exception {
        long before = stats().rejected(RejectReason.TLS_HANDSHAKE_FAILED);
        long frames = framingRejections();
        try (SSLSocket s = tlsSocket(attacker)) {
            // In TLS 1.3 the client may finish its side before the server refuses its certificate:
            // the Hello is then written into a session the server has already refused.
            RawPeer peer = RawPeer.of(s);
            Envelope answer = peer.hello(CLUSTER, "n2", TARGET);
            throw new AssertionError("the node answered " + answer);
        } catch (IOException expected) {
            // refused in the TLS handshake
        }
        Await.await(WAIT, () -> stats().rejected(RejectReason.TLS_HANDSHAKE_FAILED) == before + 1, () -> "" + stats());
        assertThat(framingRejections()).as("nothing reached the frame decoder").isEqualTo(frames);
    }

    /** Whether a Hello as n2 over a TLS connection from {@code client} to {@code address} gets a HelloAck. */
    private static boolean helloAccepted(SSLContext client, InetSocketAddress address) {
        return helloAccepted(client, address, "TLSv1.3");
    }

    /** As above, offering only TLS version {@code protocol}. */
    private static boolean helloAccepted(SSLContext client, InetSocketAddress address, String protocol) {
        try (SSLSocket s = (SSLSocket) client.getSocketFactory()
                .createSocket(address.getAddress(), address.getPort())) {
            s.setEnabledProtocols(new String[] {protocol});
            s.setSoTimeout(2_000);
            return RawPeer.of(s).hello(CLUSTER, "n2", TARGET).hasHelloAck();
        } catch (IOException refused) {
            return false;
        }
    }

    private long framingRejections() {
        TransportStats s = stats();
        return s.rejected(RejectReason.FRAME_TOO_LARGE) + s.rejected(RejectReason.MALFORMED_FRAME)
                + s.rejected(RejectReason.PROTOCOL_VIOLATION) + s.rejected(RejectReason.TRUNCATED_FRAME);
    }

    private SSLSocket tlsSocket(SSLContext context) throws IOException {
        InetSocketAddress target = cluster.address(TARGET);
        SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(target.getAddress(), target.getPort());
        s.setEnabledProtocols(new String[] {"TLSv1.3"});
        s.setSoTimeout((int) WAIT.toMillis());
        return s;
    }

    private void create(TlsConfig tls) {
        NettyTransport.create(cluster.transportConfig(TARGET).tls(tls).build()).close();
    }

    private TransportStats stats() {
        return cluster.transport(TARGET).stats();
    }

    static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (var files = Files.walk(root)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
