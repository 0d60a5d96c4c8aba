package org.raftkit.examples.kv;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;

import org.raftkit.RaftConfig;
import org.raftkit.RaftListener;
import org.raftkit.RaftServer;
import org.raftkit.Role;
import org.raftkit.SnapshotConfig;
import org.raftkit.storage.FileIdentityStore;
import org.raftkit.storage.FileSnapshotStore;
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
    /** Room in a command for everything but the value: the key (bounded by the HTTP line length) and the header. */
    static final int COMMAND_OVERHEAD_BYTES = 64 * 1024;
    /**
     * Largest {@code maxValueBytes}: a command must fit {@code RaftConfig.maxCommandBytes}, which
     * the transport's frame must carry (one limit from the HTTP body to the wire).
     */
    public static final int MAX_VALUE_BYTES = (int) RaftConfig.DEFAULT_MAX_COMMAND_BYTES - COMMAND_OVERHEAD_BYTES;
    /** Cluster id carried in every connection's handshake; nodes of another cluster are refused. */
    public static final String DEFAULT_CLUSTER_ID = "raft-kv";

    /**
     * Where and how a node runs.
     *
     * @param id            this node's id; a key of {@code peers}
     * @param raftAddress   address the Raft transport listens on
     * @param httpAddress   address of the HTTP API, or null for none (the benchmark)
     * @param peers         every member's id and Raft address, this node included
     * @param dataDir       the node's own directory: its log, snapshots and term/vote file live here
     * @param fsync         false only for benchmarks: acknowledged writes can be lost in a crash
     * @param maxValueBytes largest value a PUT may carry, in bytes
     * @param clusterId     id shared by every member
     * @param tls           how the Raft port is secured: plaintext or mutual TLS
     * @param https         how the HTTP API is served: plain HTTP or HTTPS (no client certificates)
     * @param join          {@code serve --join}: the node starts with no configuration and waits
     *                      until the leader adds it ({@code RaftServer.Builder.join()}); {@code peers}
     *                      then gives the current members' addresses (their configuration may name
     *                      them by id alone) and this node's own. False: {@code peers} are the
     *                      cluster's initial voters
     */
    public record Settings(String id, InetSocketAddress raftAddress, InetSocketAddress httpAddress,
                           Map<String, InetSocketAddress> peers, Path dataDir, boolean fsync, int maxValueBytes,
                           String clusterId, TlsConfig tls, HttpTls https, boolean join) {

        /** Settings of a node that is one of the cluster's initial voters ({@code join} false). */
        public Settings(String id, InetSocketAddress raftAddress, InetSocketAddress httpAddress,
                        Map<String, InetSocketAddress> peers, Path dataDir, boolean fsync, int maxValueBytes,
                        String clusterId, TlsConfig tls, HttpTls https) {
            this(id, raftAddress, httpAddress, peers, dataDir, fsync, maxValueBytes, clusterId, tls, https, false);
        }

        /** Settings whose HTTP API uses the Raft port's files: HTTPS when {@code tls} is on ({@link HttpTls#sameAs}). */
        public Settings(String id, InetSocketAddress raftAddress, InetSocketAddress httpAddress,
                        Map<String, InetSocketAddress> peers, Path dataDir, boolean fsync, int maxValueBytes,
                        String clusterId, TlsConfig tls) {
            this(id, raftAddress, httpAddress, peers, dataDir, fsync, maxValueBytes, clusterId, tls,
                    HttpTls.sameAs(java.util.Objects.requireNonNull(tls, "tls")));
        }

        public Settings {
            if (!peers.containsKey(id)) {
                throw new IllegalArgumentException("--peers must include this node's own id " + id + ": " + peers.keySet());
            }
            if (!peers.get(id).equals(raftAddress) && raftAddress.getPort() != 0) {
                throw new IllegalArgumentException("--raft " + raftAddress + " differs from " + id + "'s address in --peers "
                        + peers.get(id));
            }
            if (maxValueBytes <= 0 || maxValueBytes > MAX_VALUE_BYTES) {
                throw new IllegalArgumentException("maxValueBytes must be in [1, " + MAX_VALUE_BYTES + "] (a command must "
                        + "fit RaftConfig.maxCommandBytes " + RaftConfig.DEFAULT_MAX_COMMAND_BYTES + "), was " + maxValueBytes);
            }
            peers = Map.copyOf(peers);
            java.util.Objects.requireNonNull(tls, "tls");
            java.util.Objects.requireNonNull(https, "https");
        }
    }

    private final RaftServer server;
    private final KvHttpServer http;
    /** Records this node's start in the replicated state ({@link DataLossGuard}). */
    private final AutoCloseable startRecord;

    /** How long a stopping leader waits for another voter to take over: two maximum election timeouts. */
    private final long handOverMillis;

    private KvNode(RaftServer server, KvHttpServer http, AutoCloseable startRecord, long handOverMillis) {
        this.server = server;
        this.http = http;
        this.startRecord = startRecord;
        this.handOverMillis = handOverMillis;
    }

    /**
     * Opens the node's storage, starts Raft and then the HTTP API.
     *
     * @param listener told of role changes and failure (fail-stop), in addition to the log
     */
    public static KvNode start(Settings s, RaftListener listener) {
        return start(s, RaftConfig.defaults().withLeaseReads(true, RaftConfig.DEFAULT_CLOCK_DRIFT_BOUND), Map.of(), listener);
    }

    /**
     * Like {@link #start(Settings, RaftListener)}, with the given timeouts and limits; with an HTTP
     * API, the node also serves its metrics ({@code /metrics}) and the cluster view ({@code /}),
     * which shows the members whose HTTP address {@code httpPeers} gives.
     */
    public static KvNode start(Settings s, RaftConfig config, Map<String, InetSocketAddress> httpPeers,
                               RaftListener listener) {
        return start(s, config, LogSettings.defaults(), httpPeers, listener);
    }

    /**
     * How much log a node keeps: when it takes snapshots and compacts behind them, and the size of
     * the segment files compaction deletes whole.
     *
     * @param snapshots    triggers and trailing window ({@code --snapshot-*})
     * @param segmentBytes size of one log segment file, in bytes ({@code --segment-bytes}); the log
     *                     on disk is at most about the trailing window plus one segment
     */
    public record LogSettings(SnapshotConfig snapshots, long segmentBytes) {
        public LogSettings {
            java.util.Objects.requireNonNull(snapshots, "snapshots");
            // Checked here, not at open, so a bad flag is a usage error before anything starts.
            SegmentedLogStorage.Options.defaults().withSegmentSizeBytes(segmentBytes);
        }

        /** {@link SnapshotConfig#defaults()} and 64 MiB segments. */
        public static LogSettings defaults() {
            return new LogSettings(SnapshotConfig.defaults(), SegmentedLogStorage.Options.DEFAULT_SEGMENT_SIZE_BYTES);
        }
    }

    /**
     * Like {@link #start(Settings, RaftConfig, Map, RaftListener)}, keeping the log as {@code logSettings}
     * says. Snapshots live in {@code <data>/snapshots} ({@link FileSnapshotStore}, fsync'd as the
     * log is); the log in {@code <data>/log} is compacted behind them.
     *
     * @throws IllegalArgumentException naming the file if an HTTPS file is missing or unreadable,
     *                                  before anything is opened
     */
    public static KvNode start(Settings s, RaftConfig config, LogSettings logSettings,
                               Map<String, InetSocketAddress> httpPeers, RaftListener listener) {
        SnapshotConfig snapshots = logSettings.snapshots();
        // HTTPS files are read first, so a bad one stops the node before anything is opened.
        io.netty.handler.ssl.SslContext httpsContext = s.httpAddress() == null ? null : s.https().serverContext();
        javax.net.ssl.SSLContext peerTrust = s.httpAddress() == null ? null : s.https().peerTrust();
        PrometheusMeterRegistry registry = s.httpAddress() == null ? null
                : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        RaftMetrics metrics = registry == null ? RaftMetrics.NONE : new MicrometerMetrics(registry);
        try {
            Files.createDirectories(s.dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the data directory " + s.dataDir(), e);
        }
        SyncPolicy sync = s.fsync() ? SyncPolicy.ALWAYS : SyncPolicy.NEVER;
        SegmentedLogStorage.Options options = SegmentedLogStorage.Options.defaults().withSyncPolicy(sync)
                .withSegmentSizeBytes(logSettings.segmentBytes());
        // Everything opened so far, closed in reverse if a later step fails.
        Deque<AutoCloseable> opened = new ArrayDeque<>();
        try {
            SegmentedLogStorage logStorage = open(opened, "the log in " + s.dataDir().resolve("log"),
                    () -> SegmentedLogStorage.open(s.dataDir().resolve("log"), options));
            FileTermVoteStore termVote = open(opened, "the term/vote file in " + s.dataDir(),
                    () -> FileTermVoteStore.open(s.dataDir()));
            FileSnapshotStore snapshotStore = open(opened, "the snapshots in " + s.dataDir().resolve(SNAPSHOT_DIR),
                    () -> FileSnapshotStore.open(s.dataDir().resolve(SNAPSHOT_DIR),
                            FileSnapshotStore.Options.defaults().withSyncPolicy(sync)));
            FileIdentityStore identity = open(opened, "the identity file in " + s.dataDir(),
                    () -> FileIdentityStore.open(s.dataDir()));
            boolean raftDataEmpty = logStorage.lastIndex() == 0 && logStorage.firstIndex() <= 1
                    && termVote.load().currentTerm() == 0 && snapshotStore.list().isEmpty();
            if (raftDataEmpty && s.httpAddress() != null) {
                refuseLostData(s, identity.load() != null, httpPeers, peerTrust);
            }
            NettyTransport transport = open(opened, null, () -> NettyTransport.create(NettyTransportConfig.builder()
                    .clusterId(s.clusterId())
                    .nodeId(s.id())
                    .listenAddress(s.raftAddress())
                    .peers(s.peers())
                    .tls(s.tls())
                    .build()));
            NettyTransportMetrics.register(metrics, s.id(), transport);
            RaftServer.Builder builder = RaftServer.builder().id(s.id());
            if (s.join()) {
                builder.join();
            } else {
                builder.peers(s.peers().keySet());
            }
            RaftServer server = builder
                    .clusterId(s.clusterId())
                    .identityStore(identity)
                    .stateMachine(new KvStateMachine())
                    .logStorage(logStorage)
                    .termVoteStore(termVote)
                    .snapshotStore(snapshotStore)
                    .snapshotConfig(snapshots)
                    .transport(transport)
                    .config(config)
                    .metrics(metrics)
                    .listener(listener)
                    .build();
            // From here on the server owns (and closes) storage and transport.
            opened.clear();
            opened.push(server);
            server.start();
            AutoCloseable startRecord = DataLossGuard.recordStart(server, s.id());
            opened.push(startRecord);
            KvHttpServer httpServer = null;
            if (s.httpAddress() != null) {
                Map<String, InetSocketAddress> members = new java.util.HashMap<>(httpPeers);
                members.putIfAbsent(s.id(), s.httpAddress());
                httpServer = KvHttpServer.start(server, s.httpAddress(), s.maxValueBytes(),
                        new ClusterView(server, members, registry::scrape, peerTrust), HttpLimits.DEFAULTS, httpsContext,
                        s.peers());
            }
            log.info("{} started{}: raft {} ({}), http {} ({}), data {}, fsync {}, snapshots every {} entries, {} bytes or {} ms "
                            + "keeping {} entries behind", s.id(), s.join() ? " (joining: waits to be added)" : "", s.raftAddress(),
                    s.tls().enabled() ? "mutual TLS" : "plaintext", s.httpAddress() == null ? "off" : s.httpAddress(),
                    s.https().enabled() ? "HTTPS" : "plain HTTP",
                    s.dataDir(), s.fsync() ? "on" : "OFF (unsafe)", snapshots.everyEntries(), snapshots.everyBytes(),
                    snapshots.intervalMillis(), snapshots.trailingEntries());
            return new KvNode(server, httpServer, startRecord, 2 * config.electionTimeoutMaxMillis());
        } catch (RuntimeException e) {
            closeAll(opened, e);
            throw e;
        }
    }

    /**
     * If this node leads, hands leadership to its most caught-up voter, as {@code RaftServer.close()}
     * would, but while the HTTP API still serves; bounded, and a failure only logged.
     */
    private void handOverLeadership() {
        if (!server.status().isLeader() || server.configuration().voters().size() < 2) {
            return;
        }
        try {
            String leader = server.transferLeadership().get(handOverMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
            log.info("{} handed leadership to {} before stopping", server.id(), leader);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.info("{} stops without handing leadership over first: {}", server.id(),
                    e instanceof java.util.concurrent.ExecutionException ? e.getCause().getMessage() : "timed out");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A node whose Raft data (log, term and vote, snapshots) is empty may be new, or may have lost
     * its data: refuses the second ({@link DataLossGuard}). If its identity record survived, the
     * node ran before and lost its Raft data alone: refused at once, unless it starts with
     * {@code --join} and its peers do not count it as a voter. Otherwise its peers are asked.
     */
    private static void refuseLostData(Settings s, boolean identityRecorded, Map<String, InetSocketAddress> httpPeers,
                                       javax.net.ssl.SSLContext peerTrust) {
        if (identityRecorded && !s.join()) {
            throw new IllegalStateException(s.id() + "'s data directory " + s.dataDir() + " records that it is node "
                    + s.id() + " of cluster " + s.clusterId() + ", but its log, term and snapshots are gone: its Raft "
                    + "data was lost, and it must not come back as the voter it was. Remove it ('member remove --id "
                    + s.id() + "'), empty its data directory, start it with --join and add it again ('member add --id "
                    + s.id() + " --raft HOST:PORT'); docs/OPERATIONS.md, \"Replacing a node\", shows each step");
        }
        DataLossGuard.checkEmptyStart(s.id(), s.join(), s.dataDir(), httpPeers, peerTrust);
    }

    /** Where a node's snapshots live, under its data directory. */
    static final String SNAPSHOT_DIR = "snapshots";

    /** Opens one resource, remembering it in {@code opened}; an IOException names {@code what}. */
    private static <T extends AutoCloseable> T open(Deque<AutoCloseable> opened, String what, Opener<T> opener) {
        T resource;
        try {
            resource = opener.open();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + what + ": " + e.getMessage(), e);
        }
        opened.push(resource);
        return resource;
    }

    private static void closeAll(Deque<AutoCloseable> opened, RuntimeException cause) {
        while (!opened.isEmpty()) {
            try {
                opened.pop().close();
            } catch (Exception suppressed) {
                cause.addSuppressed(suppressed);
            }
        }
    }

    @FunctionalInterface
    private interface Opener<T> {
        T open() throws IOException;
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

    /** Longest wait for the HTTP requests already read to be answered when the node stops. */
    static final long DRAIN_MILLIS = 5_000;

    /**
     * Stops gracefully, so that a rolling restart costs clients no failed request: a leader first
     * hands leadership to another voter (thesis §3.10) while the HTTP API still serves (writes
     * arriving meanwhile wait for the new leader); then the API stops accepting, answers what it
     * has read (each answer closing its connection, so clients go elsewhere) for at most
     * {@link #DRAIN_MILLIS}; then Raft, transport and storage close.
     */
    @Override
    public void close() {
        handOverLeadership();
        if (http != null) {
            if (!http.drain(DRAIN_MILLIS)) {
                log.warn("{} stops with {} HTTP requests unanswered after {} ms", server.id(), http.inFlight(),
                        DRAIN_MILLIS);
            }
            http.close();
        }
        try {
            startRecord.close();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        server.close();
    }
}
