package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.Entry;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.RaftMessage;
import org.raftkit.runtime.Await;
import org.raftkit.transport.netty.wire.Envelope;

/**
 * Hostile and broken peers against a live three-node cluster, one raw {@link java.net.Socket} at a
 * time, always aimed at n1. Each case checks that the node closes that connection (or, for a newer
 * peer's message, keeps it), counts the reason, lets nothing reach Raft; and after each case the
 * cluster still commits a write.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final long HANDSHAKE_TIMEOUT_MILLIS = 500;
    private static final long IDLE_TIMEOUT_MILLIS = 1_500;
    private static final int MAX_FRAME_BYTES = 2 << 20;
    private static final long MAX_OUTBOUND_BYTES_PER_PEER = 8L << 20;
    /** No real term gets near this; a delivered message carrying it came from a test's fake peer. */
    private static final long MARKER_TERM = 1L << 40;
    private static final String TARGET = "n1";

    private LoopbackCluster cluster;
    private final AtomicInteger writes = new AtomicInteger();

    @BeforeAll
    void startCluster() {
        cluster = new LoopbackCluster(3, LoopbackCluster.fastRaftConfig(), b -> b
                .handshakeTimeoutMillis(HANDSHAKE_TIMEOUT_MILLIS)
                .idleTimeoutMillis(IDLE_TIMEOUT_MILLIS)
                .maxFrameBytes(MAX_FRAME_BYTES)
                .maxOutboundBytesPerPeer(MAX_OUTBOUND_BYTES_PER_PEER));
        cluster.recordDeliveredIf(m -> m instanceof RaftMessage && ((RaftMessage) m).term() >= MARKER_TERM);
        cluster.startAll();
        clusterStillCommits();
    }

    @AfterEach
    void clusterStillCommits() {
        cluster.assertStillCommits(writes.incrementAndGet(), WAIT);
    }

    @AfterAll
    void stopCluster() {
        cluster.close();
    }

    @Test
    void randomBytesCloseTheConnection() throws IOException {
        byte[] garbage = new byte[8192];
        new Random(7).nextBytes(garbage);
        long before = stats().rejectedTotal();
        try (RawPeer peer = connect()) {
            peer.write(garbage);
            assertThat(peer.closedByNodeWithin(WAIT)).isTrue();
        }
        Await.await(WAIT, () -> stats().rejectedTotal() == before + 1, () -> "one rejection: " + stats());
    }

    @Test
    void aTwoGibibyteLengthPrefixIsRefusedBeforeAnyBodyArrives() throws IOException {
        long timeouts = stats().rejected(RejectReason.HANDSHAKE_TIMEOUT);
        expectRejected(RejectReason.FRAME_TOO_LARGE, peer -> peer.write(new byte[] {0x7F, (byte) 0xFF, (byte) 0xFF,
                (byte) 0xFF}));
        assertThat(stats().rejected(RejectReason.HANDSHAKE_TIMEOUT)).as("closed on the prefix, not by the timer")
                .isEqualTo(timeouts);
    }

    @Test
    void aFrameCutInTheMiddleIsReportedWhenThePeerHangsUp() throws IOException {
        long before = stats().rejected(RejectReason.TRUNCATED_FRAME);
        try (RawPeer peer = connect()) {
            assertThat(peer.hello(LoopbackCluster.CLUSTER_ID, "n2", TARGET).hasHelloAck()).isTrue();
            peer.write(new byte[] {0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
        }
        Await.await(WAIT, () -> stats().rejected(RejectReason.TRUNCATED_FRAME) == before + 1, () -> "" + stats());
    }

    @Test
    void aPeerOfAnotherClusterIsToldWhyAndClosed() throws IOException {
        expectRejected(RejectReason.WRONG_CLUSTER, peer -> {
            Envelope answer = peer.hello("another-cluster", "n2", TARGET);
            assertThat(answer.getHelloReject().getReason()).isEqualTo("WRONG_CLUSTER");
        });
    }

    @Test
    void aDialerOfAnOlderProtocolVersionIsToldWhyAndClosed() throws IOException {
        expectRejected(RejectReason.UNSUPPORTED_VERSION, peer -> {
            peer.send(Envelope.newBuilder().setFrom("n2").setTo(TARGET).setHello(org.raftkit.transport.netty.wire.Hello
                    .newBuilder().setProtocolVersion(Handshake.MIN_PROTOCOL_VERSION - 1).setClusterId(LoopbackCluster.CLUSTER_ID)).build());
            assertThat(peer.readFrame(WAIT).getHelloReject().getReason()).isEqualTo("UNSUPPORTED_VERSION");
        });
    }

    /** A fake n3 of the protocol version before the oldest supported accepts the leader's hello; the leader's transport leaves it. */
    @Test
    void anAcceptorOfAnOlderProtocolVersionIsLeftByTheDialer() throws Exception {
        String leader = cluster.awaitLeader(WAIT);
        String fakeId = cluster.ids().stream().filter(id -> !id.equals(leader)).reduce((a, b) -> b).orElseThrow();
        NettyTransport leaderTransport = cluster.transport(leader);
        long before = leaderTransport.stats().rejected(RejectReason.UNSUPPORTED_VERSION);
        InetSocketAddress fakeAddress = cluster.address(fakeId);
        cluster.stop(fakeId);
        try (ServerSocket fake = new ServerSocket()) {
            fake.setReuseAddress(true);
            fake.bind(fakeAddress);
            fake.setSoTimeout((int) WAIT.toMillis());
            // The other follower dials the fake too, and may come first (it failed CI so once: the
            // fake answered the follower and then waited for the leader to count a refusal): only
            // the leader's connection is answered, any other is closed and the next one taken.
            while (true) {
                try (Socket s = fake.accept()) {
                    RawPeer peer = RawPeer.of(s);
                    Envelope hello = peer.readFrame(WAIT);
                    if (!hello.getFrom().equals(leader)) {
                        continue;
                    }
                    assertThat(hello.getHello().getProtocolVersion()).isEqualTo(Handshake.PROTOCOL_VERSION);
                    peer.send(Envelope.newBuilder().setFrom(fakeId).setTo(hello.getFrom())
                            .setHelloAck(org.raftkit.transport.netty.wire.HelloAck.newBuilder()
                                    .setProtocolVersion(Handshake.MIN_PROTOCOL_VERSION - 1))
                            .build());
                    Await.await(WAIT, () -> leaderTransport.stats().rejected(RejectReason.UNSUPPORTED_VERSION) == before + 1,
                            () -> "the leader to leave a peer of an older version: " + leaderTransport.stats());
                    assertThat(leaderTransport.stats().connectedPeers().get(fakeId)).isFalse();
                    break;
                }
            }
        } finally {
            cluster.start(fakeId); // the later tests need all three
        }
    }

    @Test
    void anUnknownNodeIdIsRefused() throws IOException {
        expectRejected(RejectReason.UNKNOWN_NODE,
                peer -> assertThat(peer.hello(LoopbackCluster.CLUSTER_ID, "n9", TARGET).hasHelloReject()).isTrue());
    }

    @Test
    void aHelloForAnotherNodeIsRefused() throws IOException {
        expectRejected(RejectReason.MISADDRESSED,
                peer -> assertThat(peer.hello(LoopbackCluster.CLUSTER_ID, "n2", "n3").hasHelloReject()).isTrue());
    }

    @Test
    void messagesAddressedToAnotherNodeOrInAnotherNodesNameNeverReachRaft() throws IOException {
        expectRejected(RejectReason.MISADDRESSED, peer -> {
            peer.hello(LoopbackCluster.CLUSTER_ID, "n2", TARGET);
            peer.send(MessageCodec.encode(new Heartbeat("n2", "n3", MARKER_TERM, 0, 0)));
        });
        expectRejected(RejectReason.MISADDRESSED, peer -> {
            peer.hello(LoopbackCluster.CLUSTER_ID, "n2", TARGET);
            peer.send(MessageCodec.encode(new Heartbeat("n3", TARGET, MARKER_TERM, 0, 0)));
        });
    }

    @Test
    void aMessageTypeFromANewerVersionIsCountedAndDroppedAndTheConnectionStays() throws IOException {
        long before = stats().rejected(RejectReason.UNKNOWN_MESSAGE);
        try (RawPeer peer = connect()) {
            peer.hello(LoopbackCluster.CLUSTER_ID, "n2", TARGET);
            peer.write(RawPeer.frame(newerVersionEnvelope()));
            peer.send(Handshake.ping("n2", TARGET));
            assertThat(peer.readFrame(WAIT).hasPong()).as("the connection still answers").isTrue();
        }
        assertThat(stats().rejected(RejectReason.UNKNOWN_MESSAGE)).isEqualTo(before + 1);
    }

    @Test
    void aSilentConnectionIsClosedAtTheHandshakeTimeout() throws IOException {
        expectRejected(RejectReason.HANDSHAKE_TIMEOUT, peer -> { });
    }

    @Test
    void aSlowLorisSendingOneByteIsClosedAtTheHandshakeTimeout() throws IOException {
        expectRejected(RejectReason.HANDSHAKE_TIMEOUT, peer -> peer.write(new byte[] {0}));
    }

    @Test
    void aPeerThatFallsSilentAfterTheHandshakeIsClosedAtTheIdleTimeout() throws IOException {
        expectRejected(RejectReason.IDLE_TIMEOUT,
                peer -> assertThat(peer.hello(LoopbackCluster.CLUSTER_ID, "n2", TARGET).hasHelloAck()).isTrue());
    }

    /**
     * A fake n3 that completes the handshake and then never reads. Raft alone would not fill its
     * queue (the leader sends one probe to a silent follower and waits), so the test sends 64 MiB
     * of AppendEntries to it through the leader's transport, as a Raft thread would.
     */
    @Test
    void aPeerThatNeverReadsIsBoundedAndTheOthersKeepCommitting() throws Exception {
        String leader = cluster.awaitLeader(WAIT);
        String fakeId = cluster.ids().stream().filter(id -> !id.equals(leader)).reduce((a, b) -> b).orElseThrow();
        InetSocketAddress fakeAddress = cluster.address(fakeId);
        NettyTransport leaderTransport = cluster.transport(leader);
        cluster.stop(fakeId);

        List<Socket> accepted = new CopyOnWriteArrayList<>();
        ServerSocket fake = new ServerSocket();
        try {
            fake.setReuseAddress(true);
            fake.setReceiveBufferSize(4096);
            fake.bind(fakeAddress);
            Thread acceptor = new Thread(() -> answerHellosAndNeverRead(fake, fakeId, accepted), "fake-" + fakeId);
            acceptor.start();
            Await.await(WAIT, () -> leaderTransport.stats().connectedPeers().get(fakeId),
                    () -> "the leader's link to the fake " + fakeId);

            byte[] payload = new byte[64 * 1024];
            long maxQueued = 0;
            for (int i = 1; i <= 1024; i++) {
                leaderTransport.send(new AppendEntries(leader, fakeId, MARKER_TERM, i, 1,
                        List.of(Entry.command(i + 1, 1, payload)), 0));
                maxQueued = Math.max(maxQueued, leaderTransport.stats().queuedOutboundBytes().get(fakeId));
                if (i % 256 == 0) {
                    cluster.submit(leader, "while-flooding-" + i, WAIT); // the other follower and the leader commit
                }
            }
            assertThat(maxQueued).isLessThanOrEqualTo(MAX_OUTBOUND_BYTES_PER_PEER);
            assertThat(leaderTransport.stats().dropped(DropReason.OUTBOUND_FULL)).isGreaterThan(500);

            fake.close(); // ends the acceptor's accept()
            acceptor.join(WAIT.toMillis());
        } finally {
            fake.close();
            for (Socket s : accepted) {
                s.close();
            }
        }
        writes.addAndGet(4);
        cluster.start(fakeId);
    }

    // ---------------------------------------------------------------------------------------------

    /** What a test does on a fresh connection to the target. */
    @FunctionalInterface
    private interface PeerAction {
        void run(RawPeer peer) throws IOException;
    }

    /** Runs {@code action} on a fresh connection; expects the node to close it and count {@code reason} once. */
    private void expectRejected(RejectReason reason, PeerAction action) throws IOException {
        long before = stats().rejected(reason);
        try (RawPeer peer = connect()) {
            action.run(peer);
            assertThat(peer.closedByNodeWithin(WAIT)).as("closed by the node").isTrue();
        }
        Await.await(WAIT, () -> stats().rejected(reason) == before + 1,
                () -> "one " + reason + " rejection: " + stats());
    }

    private RawPeer connect() throws IOException {
        return RawPeer.connect(cluster.address(TARGET));
    }

    private TransportStats stats() {
        return cluster.transport(TARGET).stats();
    }

    /** An envelope from n2 to the target whose body is field 99: a message type version 1 does not have. */
    private static Envelope newerVersionEnvelope() throws IOException {
        ByteString.Output bytes = ByteString.newOutput();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        Envelope.newBuilder().setFrom("n2").setTo(TARGET).build().writeTo(out);
        out.writeBytes(99, ByteString.copyFromUtf8("from the future"));
        out.flush();
        return Envelope.parseFrom(bytes.toByteString());
    }

    private static void answerHellosAndNeverRead(ServerSocket fake, String fakeId, List<Socket> accepted) {
        try {
            fake.setSoTimeout((int) WAIT.toMillis());
            while (!fake.isClosed()) {
                Socket s = fake.accept();
                accepted.add(s);
                RawPeer peer = RawPeer.of(s);
                Envelope hello = peer.readFrame(WAIT);
                peer.send(Handshake.helloAck(fakeId, hello.getFrom()));
            }
        } catch (SocketTimeoutException | java.net.SocketException closed) {
            // the test is over
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
