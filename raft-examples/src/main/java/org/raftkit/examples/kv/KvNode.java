package org.raftkit.examples.kv;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.raftkit.RaftConfig;
import org.raftkit.RaftListener;
import org.raftkit.RaftServer;
import org.raftkit.Role;
import org.raftkit.storage.FileTermVoteStore;
import org.raftkit.storage.SegmentedLogStorage;
import org.raftkit.storage.SyncPolicy;
import org.raftkit.transport.netty.NettyTransport;
import org.raftkit.transport.netty.NettyTransportConfig;
import org.raftkit.transport.netty.NettyTransportMetrics;
import org.raftkit.metrics.RaftMetrics;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.raftkit.transport.netty.TlsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One KV node as a real deployment runs it: a {@link RaftServer} on {@link SegmentedLogStorage}
 * and {@link NettyTransport}, with {@link KvStateMachine} and the HTTP API in front. This is the
 * README's embedding example put to work; {@code serve} runs one, {@code bench} runs several in one JVM.
 */
public final class KvNode implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(KvNode.class);

    /** Largest value accepted by default (docs/OPERATIONS.md), in bytes. */
    public static final int DEFAULT_MAX_VALUE_BYTES = 1 << 20;
    /** Cluster id carried in every connection's handshake; nodes of another cluster are refused. */
    public static final String DEFAULT_CLUSTER_ID = "raft-kv";

    /**
     * Where and how a node runs.
     *
     * @param id            this node's id; a key of {@code peers}
     * @param raftAddress   address the Raft transport listens on
     * @param httpAddress   address of the HTTP API, or null for none (the benchmark)
     * @param peers         every member's id and Raft address, this node included
     * @param dataDir       the node's own directory: its log and term/vote file live here
     * @param fsync         false only for benchmarks: acknowledged writes can be lost in a crash
     * @param maxValueBytes largest value a PUT may carry, in bytes
     * @param clusterId     id shared by every member
     * @param tls           how the Raft port is secured: plaintext or mutual TLS
     */
    public record Settings(String id, InetSocketAddress raftAddress, InetSocketAddress httpAddress,
                           Map<String, InetSocketAddress> peers, Path dataDir, boolean fsync, int maxValueBytes,
                           String clusterId, TlsConfig tls) {
        public Settings {
            if (!peers.containsKey(id)) {
                throw new IllegalArgumentException("--peers must include this node's own id " + id + ": " + peers.keySet());
            }
            if (!peers.get(id).equals(raftAddress) && raftAddress.getPort() != 0) {
                throw new IllegalArgumentException("--raft " + raftAddress + " differs from " + id + "'s address in --peers "
                        + peers.get(id));
            }
            if (maxValueBytes <= 0) {
                throw new IllegalArgumentException("maxValueBytes must be > 0, was " + maxValueBytes);
            }
            peers = Map.copyOf(peers);
            java.util.Objects.requireNonNull(tls, "tls");
        }
    }

    private final RaftServer server;
    private final KvHttpServer http;

    private KvNode(RaftServer server, KvHttpServer http) {
        this.server = server;
        this.http = http;
    }

    /**
     * Opens the node's storage, starts Raft and then the HTTP API.
     *
     * @param listener told of role changes and failure (fail-stop), in addition to the log
     */
    public static KvNode start(Settings s, RaftListener listener) {
        return start(s, RaftConfig.defaults(), Map.of(), listener);
    }

    /**
     * Like {@link #start(Settings, RaftListener)}, with the given timeouts and limits; with an HTTP
     * API, the node also serves its metrics ({@code /metrics}) and the cluster view ({@code /}),
     * which shows the members whose HTTP address {@code httpPeers} gives.
     */
    public static KvNode start(Settings s, RaftConfig config, Map<String, InetSocketAddress> httpPeers,
                               RaftListener listener) {
        PrometheusMeterRegistry registry = s.httpAddress() == null ? null
                : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        RaftMetrics metrics = registry == null ? RaftMetrics.NONE : new MicrometerMetrics(registry);
        try {
            Files.createDirectories(s.dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the data directory " + s.dataDir(), e);
        }
        SegmentedLogStorage.Options options = SegmentedLogStorage.Options.defaults()
                .withSyncPolicy(s.fsync() ? SyncPolicy.ALWAYS : SyncPolicy.NEVER);
        SegmentedLogStorage logStorage;
        FileTermVoteStore termVote;
        try {
            logStorage = SegmentedLogStorage.open(s.dataDir().resolve("log"), options);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the log in " + s.dataDir().resolve("log") + ": " + e.getMessage(), e);
        }
        NettyTransport transport;
        try {
            termVote = FileTermVoteStore.open(s.dataDir());
        } catch (IOException e) {
            logStorage.close();
            throw new UncheckedIOException("cannot open the term/vote file in " + s.dataDir() + ": " + e.getMessage(), e);
        }
        try {
            transport = NettyTransport.create(NettyTransportConfig.builder()
                    .clusterId(s.clusterId())
                    .nodeId(s.id())
                    .listenAddress(s.raftAddress())
                    .peers(s.peers())
                    .tls(s.tls())
                    .build());
        } catch (RuntimeException e) {
            logStorage.close();
            termVote.close();
            throw e;
        }
        NettyTransportMetrics.register(metrics, s.id(), transport);
        RaftServer server = RaftServer.builder()
                .id(s.id())
                .peers(s.peers().keySet())
                .stateMachine(new KvStateMachine())
                .logStorage(logStorage)
                .termVoteStore(termVote)
                .transport(transport)
                .config(config)
                .metrics(metrics)
                .listener(listener)
                .build();
        server.start();
        KvHttpServer httpServer = null;
        if (s.httpAddress() != null) {
            try {
                Map<String, InetSocketAddress> members = new java.util.HashMap<>(httpPeers);
                members.putIfAbsent(s.id(), s.httpAddress());
                httpServer = KvHttpServer.start(server, s.httpAddress(), s.maxValueBytes(),
                        new ClusterView(server, members, registry::scrape));
            } catch (RuntimeException e) {
                server.close();
                throw e;
            }
        }
        log.info("{} started: raft {} ({}), http {}, data {}, fsync {}", s.id(), s.raftAddress(),
                s.tls().enabled() ? "mutual TLS" : "plaintext", s.httpAddress() == null ? "off" : s.httpAddress(),
                s.dataDir(), s.fsync() ? "on" : "OFF (unsafe)");
        return new KvNode(server, httpServer);
    }

    /** A listener that only logs; role changes are already logged by the library. */
    public static RaftListener loggingListener() {
        return new RaftListener() {
            @Override
            public void onRoleChange(Role role, long term, String leaderId) {
            }

            @Override
            public void onFailure(Throwable cause) {
                log.error("node stopped after a fatal error (fail-stop): {}", cause.toString(), cause);
            }
        };
    }

    public RaftServer server() {
        return server;
    }

    /** The HTTP API's bound address, or null when the node has none. */
    public InetSocketAddress httpAddress() {
        return http == null ? null : http.address();
    }

    /** Stops the HTTP API first (no new requests), then Raft, transport and storage. */
    @Override
    public void close() {
        if (http != null) {
            http.close();
        }
        server.close();
    }
}
