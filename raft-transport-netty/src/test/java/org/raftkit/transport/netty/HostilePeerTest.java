package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.raftkit.message.Heartbeat;
import org.raftkit.runtime.Await;

/**
 * Attacks on one plaintext transport's port by someone who knows the cluster id and a member id,
 * each named after the attack: they must cost the node bounded memory, bounded log lines and
 * nothing else. The node under attack is {@code n1}; its one peer {@code n2} is not running, so
 * every connection to n1 is the attacker's.
 */
class HostilePeerTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String CLUSTER = "hostile";
    private static final int MAX_PENDING_HANDSHAKES = 8;
    private static final long HANDSHAKE_TIMEOUT_MILLIS = 1_500;
    private static final long IDLE_TIMEOUT_MILLIS = 600;

    private NettyTransport n1;
    private final AtomicInteger delivered = new AtomicInteger();
    private final List<RawPeer> peers = new ArrayList<>();

    @BeforeEach
    void startTarget() {
        List<InetSocketAddress> free = FreePorts.loopback(2);
        n1 = NettyTransport.create(NettyTransportConfig.builder()
                .clusterId(CLUSTER).nodeId("n1").listenAddress(free.get(0))
                .peers(Map.of("n1", free.get(0), "n2", free.get(1)))
                .handshakeTimeoutMillis(HANDSHAKE_TIMEOUT_MILLIS)
                .idleTimeoutMillis(IDLE_TIMEOUT_MILLIS)
                .maxPendingHandshakes(MAX_PENDING_HANDSHAKES)
                .reconnectBackoffMillis(1_000, 2_000)
                .build());
        n1.start(m -> delivered.incrementAndGet());
    }

    @AfterEach
    void stop() throws IOException {
        for (RawPeer p : peers) {
            p.close();
        }
        n1.close();
        assertThat(delivered).as("messages that reached Raft").hasValue(0);
    }

    /** The old attack: each connection claims an 8 MiB frame before its Hello. */
    @Test
    void preHandshakeMemoryFloodIsCapped() throws IOException {
        for (int i = 0; i < MAX_PENDING_HANDSHAKES; i++) {
            connect().write(new byte[] {0, (byte) 0x80, 0, 0}); // 8 MiB
        }
        Await.await(WAIT, () -> stats().rejected(RejectReason.FRAME_TOO_LARGE) == MAX_PENDING_HANDSHAKES,
                () -> "every 8 MiB claim refused on its prefix: " + stats());

        // Now each sends most of a 4 KiB Hello and stops: the most a connection may hold before its handshake.
        List<RawPeer> holding = new ArrayList<>();
        for (int i = 0; i < MAX_PENDING_HANDSHAKES; i++) {
            RawPeer p = connect();
            p.write(new byte[] {0, 0, 0x0f, (byte) 0xa0}).write(new byte[3_000]); // claims 4000, sends 3000
            holding.add(p);
        }
        Await.await(WAIT, () -> stats().inboundBufferedBytes() == MAX_PENDING_HANDSHAKES * 3_004L,
                () -> "each holds its 3004 bytes and no more: " + stats());
        for (RawPeer p : holding) {
            assertThat(p.closedByNodeWithin(WAIT)).as("closed by a timer").isTrue();
        }
        Await.await(WAIT, () -> stats().inboundBufferedBytes() == 0 && stats().pendingHandshakes() == 0,
                () -> "memory and slots given back: " + stats());
    }

    @Test
    void floodOfSilentConnectionsIsCappedAtMaxPendingHandshakes() throws IOException {
        List<RawPeer> silent = new ArrayList<>();
        for (int i = 0; i < MAX_PENDING_HANDSHAKES; i++) {
            silent.add(connect());
        }
        Await.await(WAIT, () -> stats().pendingHandshakes() == MAX_PENDING_HANDSHAKES, () -> "" + stats());
        RawPeer oneTooMany = connect();
        assertThat(oneTooMany.closedByNodeWithin(Duration.ofMillis(HANDSHAKE_TIMEOUT_MILLIS / 2)))
                .as("closed at once, not at the handshake timeout").isTrue();
        assertThat(stats().rejected(RejectReason.TOO_MANY_HANDSHAKES)).isEqualTo(1);
        for (RawPeer p : silent) {
            assertThat(p.closedByNodeWithin(WAIT)).isTrue();
        }
        Await.await(WAIT, () -> stats().pendingHandshakes() == 0, () -> "" + stats());
    }

    /** A handshaken peer sends a valid frame one byte at a time: no frame ever completes, so the idle timer fires. */
    @Test
    void trickleIsClosedByIdleTimeout() throws Exception {
        RawPeer peer = connect();
        assertThat(peer.hello(CLUSTER, "n2", "n1").hasHelloAck()).isTrue();
        byte[] frame = RawPeer.frame(MessageCodec.encode(new Heartbeat("n2", "n1", 7, 0, 0)));
        ScheduledExecutorService trickler = Executors.newSingleThreadScheduledExecutor();
        AtomicInteger sent = new AtomicInteger();
        try {
            // One byte every 100 ms: the frame would take longer than the idle timeout to arrive.
            assertThat(frame.length * 100L).isGreaterThan(2 * IDLE_TIMEOUT_MILLIS);
            trickler.scheduleAtFixedRate(() -> {
                int i = sent.get();
                if (i < frame.length - 1) {
                    try {
                        peer.write(new byte[] {frame[i]});
                        sent.incrementAndGet();
                    } catch (IOException closed) {
                        // the node hung up: the test reads that below
                    }
                }
            }, 0, 100, TimeUnit.MILLISECONDS);
            assertThat(peer.closedByNodeWithin(WAIT)).isTrue();
        } finally {
            trickler.shutdownNow();
        }
        assertThat(stats().rejected(RejectReason.IDLE_TIMEOUT)).isEqualTo(1);
        assertThat(sent.get()).as("bytes trickled before the close").isBetween(2, frame.length - 2);
    }

    @Test
    void newlineInPeerIdCannotForgeLogLines() throws IOException {
        String log = capturingStderr(() -> {
            RawPeer peer = connect();
            assertThat(peer.hello(CLUSTER, "n2\nn2 became leader at term 31337", "n1").hasHelloReject()).isTrue();
            Await.await(WAIT, () -> stats().rejected(RejectReason.UNKNOWN_NODE) == 1, () -> "" + stats());
        });
        assertThat(log).contains("UNKNOWN_NODE (node id \"n2\\u000an2 became leader at term 31337\"");
        assertThat(log.lines()).noneMatch(line -> line.startsWith("n2 became leader"));
    }

    @Test
    void hugePeerIdIsShortenedInTheLog() throws IOException {
        String log = capturingStderr(() -> {
            RawPeer peer = connect();
            peer.hello("x".repeat(3_000), "n2", "n1"); // a cluster id as large as a Hello may be
            Await.await(WAIT, () -> stats().rejected(RejectReason.WRONG_CLUSTER) == 1, () -> "" + stats());
        });
        assertThat(log).contains("WRONG_CLUSTER").contains("(+2936 chars)");
        assertThat(log.lines().mapToInt(String::length).max().orElse(0)).isLessThan(400);
    }

    @Test
    void rejectionsAreLoggedAtMostOnceASecondPerReasonAndAllCounted() throws IOException {
        int attempts = 20;
        String log = capturingStderr(() -> {
            for (int i = 0; i < attempts; i++) {
                RawPeer peer = connect();
                peer.hello("another-cluster", "n2", "n1");
                assertThat(peer.closedByNodeWithin(WAIT)).isTrue();
                peer.close();
            }
            Await.await(WAIT, () -> stats().rejected(RejectReason.WRONG_CLUSTER) == attempts, () -> "" + stats());
        });
        long lines = log.lines().filter(l -> l.contains("WRONG_CLUSTER")).count();
        assertThat(lines).as("log lines for %d rejections", attempts).isBetween(1L, 5L);
    }

    // ---------------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface Attack {
        void run() throws IOException;
    }

    /** Runs {@code attack} with System.err (where slf4j-simple writes) also copied to a buffer; returns it. */
    private static String capturingStderr(Attack attack) throws IOException {
        PrintStream original = System.err;
        ByteArrayOutputStream copy = new ByteArrayOutputStream();
        System.setErr(new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                copy.write(b);
                original.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                copy.write(b, off, len);
                original.write(b, off, len);
            }
        }, true, StandardCharsets.UTF_8));
        try {
            attack.run();
        } finally {
            System.setErr(original);
        }
        return copy.toString(StandardCharsets.UTF_8);
    }

    private RawPeer connect() throws IOException {
        RawPeer p = RawPeer.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                n1.localAddress().getPort()));
        peers.add(p);
        return p;
    }

    private TransportStats stats() {
        return n1.stats();
    }
}
