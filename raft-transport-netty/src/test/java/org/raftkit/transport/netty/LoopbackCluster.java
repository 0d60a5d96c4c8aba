package org.raftkit.transport.netty;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.raftkit.NotLeaderException;
import org.raftkit.RaftConfig;
import org.raftkit.RaftServer;
import org.raftkit.RaftStatus;
import org.raftkit.Role;
import org.raftkit.ServerBusyException;
import org.raftkit.message.Message;
import org.raftkit.runtime.Await;
import org.raftkit.runtime.RecordingStateMachine;
import org.raftkit.spi.LogStorage;
import org.raftkit.storage.FileTermVoteStore;
import org.raftkit.storage.SegmentedLogStorage;
import org.raftkit.spi.TermVoteStore;
import org.raftkit.spi.Transport;

/**
 * Real {@link RaftServer}s talking through {@link NettyTransport}s over 127.0.0.1, nodes
 * {@code n1 .. nN}, cluster id {@code "loopback"}. A node can be stopped and started again on the
 * same port with the same storage. Every message a node's transport delivers is offered to
 * {@link #delivered}, a test's window on what reached Raft.
 *
 * <p>Storage comes from {@link #openStorage}, the one place that decides what "durable" means
 * here (see there).
 */
final class LoopbackCluster implements AutoCloseable {

    static final String CLUSTER_ID = "loopback";

    /** Small timeouts so tests are quick, with room for a loaded 2-core machine. */
    static RaftConfig fastRaftConfig() {
        return RaftConfig.defaults()
                .withTickMillis(5)
                .withHeartbeatIntervalMillis(25)
                .withElectionTimeoutMillis(150, 300)
                .withRequestTimeoutMillis(3_000);
    }

    /** What a node keeps across a restart. */
    record Storage(LogStorage log, TermVoteStore termVote) {
    }

    private final Map<String, InetSocketAddress> addresses = new LinkedHashMap<>();
    /** The nodes the cluster is built with (fixed voters by id); the others joined. */
    private final List<String> initial = new ArrayList<>();
    private final List<String> joining = new ArrayList<>();
    /** Where each node keeps its log and term/vote file, one folder per node. */
    private final Path dataDir;
    private final Map<String, RaftServer> servers = new LinkedHashMap<>();
    private final Map<String, NettyTransport> transports = new LinkedHashMap<>();
    private final Map<String, RecordingStateMachine> machines = new LinkedHashMap<>();
    private final RaftConfig raftConfig;
    private final BiFunction<String, NettyTransportConfig.Builder, NettyTransportConfig.Builder> transportTweaks;
    private final ConcurrentLinkedQueue<Message> delivered = new ConcurrentLinkedQueue<>();
    private volatile Predicate<Message> recordIf = m -> false;

    LoopbackCluster(int size, RaftConfig raftConfig, UnaryOperator<NettyTransportConfig.Builder> transportTweaks) {
        this(size, raftConfig, (id, b) -> transportTweaks.apply(b));
    }

    /** As above, with tweaks that depend on the node (its own TLS files, say). */
    LoopbackCluster(int size, RaftConfig raftConfig,
                    BiFunction<String, NettyTransportConfig.Builder, NettyTransportConfig.Builder> transportTweaks) {
        this.raftConfig = raftConfig;
        this.transportTweaks = transportTweaks;
        try {
            this.dataDir = Files.createTempDirectory("raftkit-loopback");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<InetSocketAddress> free = FreePorts.loopback(size);
        for (int i = 0; i < size; i++) {
            addresses.put("n" + (i + 1), free.get(i));
            initial.add("n" + (i + 1));
        }
    }

    /**
     * The log and term/vote store of node {@code id}, called at every (re)start: a
     * {@link SegmentedLogStorage} and a {@link FileTermVoteStore} in the node's own directory under
     * a temporary folder, so a restarted node recovers from what really reached the disk. The
     * folder is deleted by {@link #close()}.
     */
    private Storage openStorage(String id) {
        Path dir = dataDir.resolve(id);
        try {
            SegmentedLogStorage log = SegmentedLogStorage.open(dir.resolve("log"));
            try {
                return new Storage(log, FileTermVoteStore.open(dir));
            } catch (IOException | RuntimeException e) {
                log.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the storage of " + id + " in " + dir, e);
        }
    }

    /** Starts every node the cluster was built with. */
    LoopbackCluster startAll() {
        for (String id : initial) {
            start(id);
        }
        return this;
    }

    /** Starts (or restarts) node {@code id}: a new transport on its port, a new server on its storage. */
    RaftServer start(String id) {
        NettyTransport transport = NettyTransport.create(transportConfig(id).build());
        Storage s = openStorage(id);
        RecordingStateMachine machine = new RecordingStateMachine();
        RaftServer.Builder builder = RaftServer.builder().id(id);
        if (joining.contains(id)) {
            builder.join();
        } else {
            builder.peers(initial);
        }
        RaftServer server = builder
                .stateMachine(machine)
                .logStorage(s.log())
                .termVoteStore(s.termVote())
                .transport(new Recording(transport))
                .config(raftConfig)
                .random(id.hashCode())
                .build();
        transports.put(id, transport);
        machines.put(id, machine);
        servers.put(id, server);
        server.start();
        return server;
    }

    /**
     * Starts a new node on a free port that waits to be added: its transport knows no peer, and its
     * server starts with no configuration ({@code RaftServer.Builder.join}); it learns the members'
     * addresses from the configuration once a leader adds it.
     */
    RaftServer startJoining(String id) {
        addresses.put(id, FreePorts.loopback(1).get(0));
        joining.add(id);
        return start(id);
    }

    /** The transport config node {@code id} is started with. */
    NettyTransportConfig.Builder transportConfig(String id) {
        NettyTransportConfig.Builder b = NettyTransportConfig.builder()
                .clusterId(CLUSTER_ID)
                .nodeId(id)
                .reconnectBackoffMillis(20, 200);
        if (joining.contains(id)) {
            // The initial members are configured by id alone (peers), so their addresses are not in
            // the configuration: the joiner's transport must know them. Members added later travel
            // with their addresses.
            b.listenAddress(addresses.get(id)).peers(addresses.entrySet().stream()
                    .filter(e -> initial.contains(e.getKey()))
                    .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));
        } else {
            b.peers(addresses.entrySet().stream().filter(e -> initial.contains(e.getKey()))
                    .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)))
                    .listenAddress(addresses.get(id));
        }
        return transportTweaks.apply(id, b);
    }

    /** Closes node {@code id}'s server (and so its transport); its storage survives. */
    void stop(String id) {
        servers.get(id).close();
    }

    List<String> ids() {
        return List.copyOf(addresses.keySet());
    }

    InetSocketAddress address(String id) {
        return addresses.get(id);
    }

    RaftServer server(String id) {
        return servers.get(id);
    }

    NettyTransport transport(String id) {
        return transports.get(id);
    }

    RecordingStateMachine machine(String id) {
        return machines.get(id);
    }

    /** From now on, every delivered message matching {@code rule} is kept in {@link #delivered()}. */
    void recordDeliveredIf(Predicate<Message> rule) {
        recordIf = rule;
    }

    /** Delivered messages that matched the rule of {@link #recordDeliveredIf}. */
    List<Message> delivered() {
        return List.copyOf(delivered);
    }

    /** Ids of nodes whose server is running. */
    List<String> running() {
        List<String> out = new ArrayList<>();
        servers.forEach((id, s) -> {
            if (s.status().state() == RaftStatus.State.RUNNING) {
                out.add(id);
            }
        });
        return out;
    }

    /** Waits until one running node leads and every other running node follows it. */
    String awaitLeader(Duration timeout) {
        List<String> among = running();
        AtomicReference<String> found = new AtomicReference<>();
        Await.await(timeout, () -> {
            String leader = null;
            for (String id : among) {
                if (servers.get(id).status().role() == Role.LEADER) {
                    leader = id;
                }
            }
            for (String id : among) {
                if (leader == null || !leader.equals(servers.get(id).status().leaderId())) {
                    return false;
                }
            }
            found.set(leader);
            return true;
        }, () -> "a leader among " + among + ": " + statuses());
        return found.get();
    }

    /** Submits on {@code id}, retrying while there is no leader or it is busy (nothing was applied then). */
    String submit(String id, String command, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                byte[] r = servers.get(id).submit(RecordingStateMachine.bytes(command))
                        .get(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())),
                                TimeUnit.MILLISECONDS);
                return RecordingStateMachine.string(r);
            } catch (ExecutionException e) {
                boolean retriable = e.getCause() instanceof NotLeaderException
                        || e.getCause() instanceof ServerBusyException;
                if (!retriable || System.nanoTime() - deadline > 0) {
                    throw new AssertionError("submit of " + command + " on " + id + " failed: " + e.getCause()
                            + statuses(), e.getCause());
                }
            } catch (TimeoutException e) {
                throw new AssertionError("submit of " + command + " on " + id + " not done in " + timeout
                        + statuses(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** Waits until the machines of {@code among} hold the same commands, at least {@code minCount}. */
    List<String> awaitSameApplied(Duration timeout, Collection<String> among, int minCount) {
        AtomicReference<List<String>> agreed = new AtomicReference<>();
        Await.await(timeout, () -> {
            List<String> first = null;
            for (String id : among) {
                List<String> applied = machines.get(id).commands();
                if (applied.size() < minCount || (first != null && !first.equals(applied))) {
                    return false;
                }
                first = applied;
            }
            agreed.set(first);
            return true;
        }, () -> among + " to apply the same " + minCount + "+ commands" + statuses());
        return agreed.get();
    }

    /**
     * The check after each attack: a leader commits command {@code "after-<n>"}, every node applies
     * the same {@code n} or more commands, and no message the test marked fake reached Raft.
     */
    void assertStillCommits(int n, Duration timeout) {
        String leader = awaitLeader(timeout);
        submit(leader, "after-" + n, timeout);
        awaitSameApplied(timeout, ids(), n);
        if (!delivered.isEmpty()) {
            throw new AssertionError("fake messages reached Raft: " + delivered);
        }
    }

    /** Every node's status and transport stats, for failure messages. */
    String statuses() {
        StringBuilder sb = new StringBuilder();
        servers.forEach((id, s) -> sb.append("\n  ").append(s.status()).append("\n    ")
                .append(transports.get(id).stats()));
        return sb.toString();
    }

    @Override
    public void close() {
        servers.values().forEach(RaftServer::close);
        try (Stream<Path> files = Files.walk(dataDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dataDir, e);
        }
    }

    /** Passes everything to the real transport, noting delivered messages the test asked about. */
    private final class Recording implements Transport {

        private final Transport delegate;

        Recording(Transport delegate) {
            this.delegate = delegate;
        }

        @Override
        public void start(MessageHandler handler) {
            delegate.start(m -> {
                if (recordIf.test(m)) {
                    delivered.add(m);
                }
                handler.onMessage(m);
            });
        }

        @Override
        public void send(Message message) {
            delegate.send(message);
        }

        @Override
        public void updateMembers(Map<String, String> members) {
            delegate.updateMembers(members);
        }

        @Override
        public void close() {
            delegate.close();
        }
    }
}
