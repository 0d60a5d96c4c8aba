package org.raftkit.runtime;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import org.raftkit.NotLeaderException;
import org.raftkit.RaftConfig;
import org.raftkit.RaftListener;
import org.raftkit.RaftServer;
import org.raftkit.RaftStatus;
import org.raftkit.Role;
import org.raftkit.ServerBusyException;
import org.raftkit.memory.MemoryNetwork;
import org.raftkit.memory.MemoryTermVoteStore;

/**
 * Real {@link RaftServer}s on a {@link MemoryNetwork}, each with storage that outlives its server
 * so it can be restarted. Node ids are {@code <prefix>1 .. <prefix>N}. Close it after the test.
 */
public final class TestCluster implements AutoCloseable {

    /** Small timeouts so tests are quick, with room for a loaded 2-core machine. */
    public static RaftConfig fastConfig() {
        return RaftConfig.defaults()
                .withTickMillis(5)
                .withHeartbeatIntervalMillis(20)
                .withElectionTimeoutMillis(100, 200)
                .withRequestTimeoutMillis(2_000);
    }

    /** One node's durable parts and its current server. */
    private static final class Node {
        final TestLogStorage storage = new TestLogStorage();
        final MemoryTermVoteStore termVoteStore = new MemoryTermVoteStore();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        volatile RecordingStateMachine machine;
        volatile RaftServer server;
    }

    private final MemoryNetwork network = new MemoryNetwork();
    private final Map<String, Node> nodes = new LinkedHashMap<>();
    /** The nodes the cluster was built with (its fixed voters); others join later. */
    private final List<String> initial = new ArrayList<>();
    private final RaftConfig config;

    /** A cluster of {@code size} nodes named {@code prefix1 .. prefixN}; start them with {@link #startAll()}. */
    public TestCluster(String prefix, int size, RaftConfig config) {
        this.config = config;
        for (int i = 1; i <= size; i++) {
            nodes.put(prefix + i, new Node());
            initial.add(prefix + i);
        }
    }

    /** Every node id, in order. */
    public List<String> ids() {
        return List.copyOf(nodes.keySet());
    }

    /** The network, for isolating nodes and dropping messages. */
    public MemoryNetwork network() {
        return network;
    }

    /** Starts every node. */
    public TestCluster startAll() {
        for (String id : nodes.keySet()) {
            start(id);
        }
        return this;
    }

    /** Starts (or restarts) a node: a new server and an empty state machine on the node's storage. */
    public RaftServer start(String id) {
        Node node = node(id);
        node.machine = new RecordingStateMachine();
        node.failure.set(null);
        RaftServer.Builder builder = RaftServer.builder().id(id);
        if (initial.contains(id)) {
            builder.peers(initial);
        } else {
            builder.join();
        }
        RaftServer server = builder
                .stateMachine(node.machine)
                .logStorage(node.storage)
                .termVoteStore(node.termVoteStore)
                .transport(network.transport(id))
                .config(config)
                .random(id.hashCode())
                .listener(new RaftListener() {
                    @Override
                    public void onFailure(Throwable cause) {
                        node.failure.set(cause);
                    }
                })
                .build();
        node.server = server;
        server.start();
        return server;
    }

    /**
     * Starts a new node {@code id} that waits to be added ({@code RaftServer.Builder.join}): it has
     * no configuration until a leader adds it. Restarting it later goes on from its storage.
     */
    public RaftServer startJoining(String id) {
        nodes.putIfAbsent(id, new Node());
        return start(id);
    }

    /** Closes a node's server; its storage survives for a restart. */
    public void stop(String id) {
        node(id).server.close();
    }

    /** The node's current server. */
    public RaftServer server(String id) {
        return node(id).server;
    }

    /** The state machine of the node's current server. */
    public RecordingStateMachine machine(String id) {
        return node(id).machine;
    }

    /** The node's log storage, which outlives its servers. */
    public TestLogStorage storage(String id) {
        return node(id).storage;
    }

    /** What the node's listener heard in {@code onFailure}, or null. */
    public Throwable failure(String id) {
        return node(id).failure.get();
    }

    /** Waits until one of the running nodes leads and every other running node follows it; returns its id. */
    public String awaitLeader(Duration timeout) {
        return awaitLeader(timeout, runningIds());
    }

    /** Waits until one node of {@code among} leads and the others of {@code among} follow it; returns its id. */
    public String awaitLeader(Duration timeout, Collection<String> among) {
        AtomicReference<String> found = new AtomicReference<>();
        Await.await(timeout, () -> {
            String leader = null;
            for (String id : among) {
                RaftStatus s = server(id).status();
                if (s.role() == Role.LEADER) {
                    leader = id;
                }
            }
            if (leader == null) {
                return false;
            }
            for (String id : among) {
                if (!leader.equals(server(id).status().leaderId())) {
                    return false;
                }
            }
            found.set(leader);
            return true;
        }, () -> "a leader among " + among + ": " + statuses());
        return found.get();
    }

    /** Waits until the state machines of {@code among} hold the same commands, at least {@code minCount}. */
    public List<String> awaitSameApplied(Duration timeout, Collection<String> among, int minCount) {
        AtomicReference<List<String>> agreed = new AtomicReference<>();
        Await.await(timeout, () -> {
            List<String> first = null;
            for (String id : among) {
                List<String> applied = machine(id).applied();
                if (applied.size() < minCount || (first != null && !first.equals(applied))) {
                    return false;
                }
                first = applied;
            }
            agreed.set(first);
            return true;
        }, () -> among + " to apply the same " + minCount + "+ commands: " + appliedByNode(among));
        return agreed.get();
    }

    /**
     * Submits on {@code id}, retrying while the cluster has no leader or is busy (nothing applied in
     * those cases, so retrying cannot apply twice); returns the result.
     */
    public byte[] submit(String id, String command, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            CompletableFuture<byte[]> f = server(id).submit(RecordingStateMachine.bytes(command));
            try {
                return f.get(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())),
                        TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                boolean retriable = e.getCause() instanceof NotLeaderException
                        || e.getCause() instanceof ServerBusyException;
                if (!retriable || System.nanoTime() - deadline > 0) {
                    throw new AssertionError("submit of " + command + " on " + id + " failed: " + e.getCause()
                            + "; " + statuses(), e.getCause());
                }
            } catch (TimeoutException e) {
                throw new AssertionError("submit of " + command + " on " + id + " not done in " + timeout, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** Ids of nodes whose server is running. */
    public List<String> runningIds() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Node> e : nodes.entrySet()) {
            RaftServer s = e.getValue().server;
            if (s != null && s.status().state() == RaftStatus.State.RUNNING) {
                out.add(e.getKey());
            }
        }
        return out;
    }

    /** Every node's status, for failure messages. */
    public String statuses() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Node> e : nodes.entrySet()) {
            RaftServer s = e.getValue().server;
            sb.append("\n  ").append(s == null ? e.getKey() + " not started" : s.status());
        }
        return sb.toString();
    }

    private String appliedByNode(Collection<String> among) {
        StringBuilder sb = new StringBuilder();
        for (String id : among) {
            sb.append("\n  ").append(id).append(": ").append(machine(id).applied());
        }
        return sb.toString();
    }

    private Node node(String id) {
        Node n = nodes.get(id);
        if (n == null) {
            throw new IllegalArgumentException("no node " + id);
        }
        return n;
    }

    /** Opens every gate, closes every server and the network. */
    @Override
    public void close() {
        for (Node n : nodes.values()) {
            if (n.machine != null) {
                n.machine.openGate();
            }
            if (n.server != null) {
                n.server.close();
            }
        }
        network.close();
    }
}
