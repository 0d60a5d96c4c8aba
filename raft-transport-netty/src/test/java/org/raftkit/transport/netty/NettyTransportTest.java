package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Stream;

import io.netty.buffer.PooledByteBufAllocator;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.Entry;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.Message;
import org.raftkit.runtime.Await;
import org.raftkit.transport.netty.wire.Envelope;

/** Two transports (or one and a hand-driven fake peer) without Raft: delivery, drops, bounds, lifecycle. */
class NettyTransportTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeEverything() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    @Test
    void messagesFlowBothWaysAndAreCounted() {
        List<InetSocketAddress> ports = FreePorts.loopback(2);
        Map<String, InetSocketAddress> peers = Map.of("a", ports.get(0), "b", ports.get(1));
        ConcurrentLinkedQueue<Message> atA = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Message> atB = new ConcurrentLinkedQueue<>();
        NettyTransport a = started(config("a", peers).build(), atA);
        NettyTransport b = started(config("b", peers).build(), atB);

        Await.await(WAIT, () -> a.stats().connectedPeers().get("b") && b.stats().connectedPeers().get("a"));
        for (int i = 1; i <= 100; i++) {
            a.send(new Heartbeat("a", "b", i, i, i));
            b.send(new AppendEntries("b", "a", i, i, 1, List.of(Entry.command(i + 1, 1, new byte[100])), i));
        }
        Await.await(WAIT, () -> atA.size() == 100 && atB.size() == 100, () -> atA.size() + " and " + atB.size());
        assertThat(atB).extracting(m -> ((Heartbeat) m).term()).isSorted();
        assertThat(a.stats().messagesSent()).isEqualTo(100);
        assertThat(b.stats().messagesReceived()).isEqualTo(100);
        assertThat(a.stats().bytesReceived()).isGreaterThan(100 * 100);
        assertThat(a.stats().droppedTotal()).isZero();
    }

    @Test
    void sendNeverThrowsAndCountsWhatItDrops() {
        List<InetSocketAddress> ports = FreePorts.loopback(2);
        NettyTransport a = NettyTransport.create(config("a", Map.of("a", ports.get(0), "b", ports.get(1))).build());
        toClose.add(a);
        a.send(new Heartbeat("a", "b", 1, 0, 0));
        assertThat(a.stats().dropped(DropReason.CLOSED)).as("before start").isEqualTo(1);

        a.start(m -> { });
        a.send(new Heartbeat("a", "b", 1, 0, 0));
        a.send(new Heartbeat("a", "zz", 1, 0, 0));
        assertThat(a.stats().dropped(DropReason.NOT_CONNECTED)).as("b is not running").isEqualTo(1);
        assertThat(a.stats().dropped(DropReason.UNKNOWN_PEER)).isEqualTo(1);

        a.close();
        a.send(new Heartbeat("a", "b", 1, 0, 0));
        assertThat(a.stats().dropped(DropReason.CLOSED)).isEqualTo(2);
    }

    @Test
    void aPortInUseFailsStartWithTheAddressInTheMessageAndLeavesNoThreads() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            InetSocketAddress address = (InetSocketAddress) taken.getLocalSocketAddress();
            NettyTransport t = NettyTransport.create(config("a", Map.of("a", address)).build());
            assertThatThrownBy(() -> t.start(m -> { }))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("a cannot listen on " + address);
            Await.await(WAIT, () -> threadsNamed("raftkit-a-netty").isEmpty(), () -> "threads " + threadsNamed("raftkit-a-netty"));
        }
    }

    @Test
    void closeLeavesNoThreadOrFileDescriptorBehind() {
        runAndCloseAPair("x"); // loads classes and opens the JDK's own lazily-opened files first
        long fdsBefore = openFileDescriptors();

        runAndCloseAPair("y");

        assertThat(threadsNamed("raftkit-y")).isEmpty();
        Await.await(WAIT, () -> openFileDescriptors() <= fdsBefore,
                () -> "file descriptors: " + fdsBefore + " before, " + openFileDescriptors() + " after close");
    }

    @Test
    void aPeerThatNeverReadsCostsAtMostItsOutboundBudgetAndSendNeverBlocks() throws Exception {
        try (ServerSocket fake = new ServerSocket()) {
            fake.setReceiveBufferSize(4096);
            fake.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            InetSocketAddress fakeAddress = (InetSocketAddress) fake.getLocalSocketAddress();
            NettyTransportConfig config = config("a", Map.of("a", FreePorts.loopback(1).get(0), "b", fakeAddress))
                    .maxFrameBytes(256 * 1024).maxOutboundBytesPerPeer(1024 * 1024).build();
            NettyTransport a = started(config, new ConcurrentLinkedQueue<>());
            try (Socket accepted = fake.accept(); RawPeer b = RawPeer.of(accepted)) {
                Envelope hello = b.readFrame(WAIT);
                assertThat(hello.getHello().getClusterId()).isEqualTo(LoopbackCluster.CLUSTER_ID);
                b.send(Handshake.helloAck("b", "a")); // and from now on, b reads nothing
                Await.await(WAIT, () -> a.stats().connectedPeers().get("b"));
                long directBefore = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();

                // 64 MiB of AppendEntries, as fast as one thread can send them.
                byte[] payload = new byte[64 * 1024];
                long began = System.nanoTime();
                long maxQueued = 0;
                for (int i = 1; i <= 1024; i++) {
                    a.send(new AppendEntries("a", "b", 1, i, 1, List.of(Entry.command(i + 1, 1, payload)), 0));
                    maxQueued = Math.max(maxQueued, a.stats().queuedOutboundBytes().get("b"));
                }
                Duration sending = Duration.ofNanos(System.nanoTime() - began);

                TransportStats s = a.stats();
                assertThat(sending).as("1024 sends never waited for the peer").isLessThan(Duration.ofSeconds(5));
                assertThat(maxQueued).as("queued for b").isLessThanOrEqualTo(config.maxOutboundBytesPerPeer());
                assertThat(s.dropped(DropReason.OUTBOUND_FULL)).as("dropped: " + s).isGreaterThan(900);
                assertThat(PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory() - directBefore)
                        .as("direct memory grew by at most Netty's buffer, the kernel's share and a few frames")
                        .isLessThan(16L << 20);
            }
        }
    }

    @Test
    void aRestartedPeerIsRedialedAndReceivesAgain() {
        List<InetSocketAddress> ports = FreePorts.loopback(2);
        Map<String, InetSocketAddress> peers = Map.of("a", ports.get(0), "b", ports.get(1));
        NettyTransport a = started(config("a", peers).build(), new ConcurrentLinkedQueue<>());
        NettyTransport b1 = started(config("b", peers).build(), new ConcurrentLinkedQueue<>());
        Await.await(WAIT, () -> a.stats().connectedPeers().get("b"));

        b1.close();
        Await.await(WAIT, () -> !a.stats().connectedPeers().get("b"), () -> "a to notice b is gone");
        ConcurrentLinkedQueue<Message> atB2 = new ConcurrentLinkedQueue<>();
        started(config("b", peers).build(), atB2);
        Await.await(WAIT, () -> {
            a.send(new Heartbeat("a", "b", 9, 0, 0));
            return !atB2.isEmpty();
        }, () -> "a message from a to reach the restarted b: " + a.stats());
    }

    // ---------------------------------------------------------------------------------------------

    private static NettyTransportConfig.Builder config(String id, Map<String, InetSocketAddress> peers) {
        return NettyTransportConfig.builder().clusterId(LoopbackCluster.CLUSTER_ID).nodeId(id).peers(peers)
                .reconnectBackoffMillis(10, 100);
    }

    private NettyTransport started(NettyTransportConfig config, ConcurrentLinkedQueue<Message> inbox) {
        NettyTransport t = NettyTransport.create(config);
        toClose.add(t);
        t.start(inbox::add);
        return t;
    }

    /** Two transports named {@code prefix-a} and {@code prefix-b}: connect, exchange a message, close. */
    private static void runAndCloseAPair(String prefix) {
        List<InetSocketAddress> ports = FreePorts.loopback(2);
        Map<String, InetSocketAddress> peers = Map.of(prefix + "-a", ports.get(0), prefix + "-b", ports.get(1));
        ConcurrentLinkedQueue<Message> atB = new ConcurrentLinkedQueue<>();
        NettyTransport a = NettyTransport.create(config(prefix + "-a", peers).build());
        NettyTransport b = NettyTransport.create(config(prefix + "-b", peers).build());
        a.start(m -> { });
        b.start(atB::add);
        Await.await(WAIT, () -> {
            a.send(new Heartbeat(prefix + "-a", prefix + "-b", 1, 0, 0));
            return !atB.isEmpty();
        });
        a.close();
        b.close();
    }

    private static List<String> threadsNamed(String prefix) {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName).filter(n -> n.startsWith(prefix))
                .toList();
    }

    private static long openFileDescriptors() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
