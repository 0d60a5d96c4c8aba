package org.raftkit.examples.kv;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import org.raftkit.RaftConfig;
import org.raftkit.RaftServer;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.memory.MemoryNetwork;
import org.raftkit.memory.MemorySnapshotStore;
import org.raftkit.memory.MemoryTermVoteStore;
import org.raftkit.metrics.RaftMetrics;
import org.raftkit.runtime.Await;

/**
 * KV nodes in this JVM on the in-memory network, each with its HTTP API on loopback, for tests of
 * the API itself (real processes, sockets and disks are {@link LocalCluster}).
 */
final class InProcessKvCluster implements AutoCloseable {

    /** Starts node {@code id}'s HTTP API, or returns null for a node without one. */
    interface HttpStarter {
        KvHttpServer start(String id, RaftServer server);
    }

    /** Fast elections, so tests do not wait for them; lease reads on, as {@code serve} has them. */
    static final RaftConfig FAST = RaftConfig.defaults().withTickMillis(5).withHeartbeatIntervalMillis(20)
            .withElectionTimeoutMillis(100, 200).withLeaseReads(true, RaftConfig.DEFAULT_CLOCK_DRIFT_BOUND);

    final List<RaftServer> servers = new ArrayList<>();
    /** The HTTP servers of the nodes that have one, in node order. */
    final List<KvHttpServer> https = new ArrayList<>();
    private final MemoryNetwork network = new MemoryNetwork(MemoryNetwork.Delivery.THREADED);

    /** Starts every node, with snapshots kept in memory, and its HTTP API, then waits for a leader. */
    InProcessKvCluster(List<String> ids, RaftConfig config, Function<String, RaftMetrics> metrics, HttpStarter http,
                       Duration deadline) {
        this(ids, config, metrics, http, deadline, true);
    }

    /** As above; without {@code snapshots} the nodes have no snapshot store and take no snapshots. */
    InProcessKvCluster(List<String> ids, RaftConfig config, Function<String, RaftMetrics> metrics, HttpStarter http,
                       Duration deadline, boolean snapshots) {
        for (String id : ids) {
            RaftServer.Builder builder = RaftServer.builder().id(id).peers(ids).stateMachine(new KvStateMachine())
                    .logStorage(new MemoryLogStorage()).termVoteStore(new MemoryTermVoteStore())
                    .transport(network.transport(id)).metrics(metrics.apply(id)).config(config);
            if (snapshots) {
                builder.snapshotStore(new MemorySnapshotStore());
            }
            RaftServer server = builder.build();
            server.start();
            servers.add(server);
            KvHttpServer h = http.start(id, server);
            if (h != null) {
                https.add(h);
            }
        }
        Await.await(deadline, () -> servers.stream().anyMatch(s -> s.status().isLeader()), () -> "a leader");
    }

    /** Stops the HTTP APIs first, then the nodes and the network. */
    @Override
    public void close() {
        https.forEach(KvHttpServer::close);
        servers.forEach(RaftServer::close);
        network.close();
    }
}
