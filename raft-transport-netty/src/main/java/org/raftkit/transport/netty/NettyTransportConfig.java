package org.raftkit.transport.netty;

import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a {@link NettyTransport} needs: who this node is, whom it talks to, and its limits.
 * Immutable; every value is checked in the constructor, so a config that exists is valid. Units
 * are in the names. Build one with {@link #builder()}; the canonical constructor is public only
 * because records require it, and it may gain components (so prefer the builder).
 *
 * @param clusterId                  sent in every handshake; a peer with another cluster id is refused
 * @param nodeId                     this node's id, as Raft knows it
 * @param listenAddress              where this node accepts its peers' connections; port 0 picks a
 *                                   free port ({@link NettyTransport#localAddress()} tells which)
 * @param peers                      the other members' ids and addresses (this node's own entry, if
 *                                   given, is dropped here); the only ids accepted in a handshake
 * @param maxFrameBytes              largest frame body accepted or sent; a longer length prefix closes
 *                                   the connection before any buffer is sized for it. Must exceed
 *                                   the largest AppendEntries Raft builds ({@code RaftConfig.maxAppendBytes}
 *                                   plus one entry) and the largest forwarded command
 * @param maxOutboundBytesPerPeer    most message bytes queued for one peer and not yet handed to the
 *                                   socket; past it, sends to that peer are dropped. One eighth is
 *                                   kept for small control messages (votes, heartbeats, replies)
 * @param connectTimeoutMillis       how long one TCP connect may take
 * @param handshakeTimeoutMillis     how long a new connection may take to complete the handshake,
 *                                   either side, before it is closed
 * @param idleTimeoutMillis          a connection on which nothing was read for this long is closed;
 *                                   the dialer pings every third of it, so a live peer never idles
 * @param reconnectBackoffMinMillis  first delay before reconnecting to a peer; doubles per failure
 * @param reconnectBackoffMaxMillis  cap of that delay (jitter takes up to half of it off)
 * @param ioThreads                  Netty event loop threads for all of this node's connections
 * @param tls                        how connections are secured: {@link TlsConfig#plaintext()} (the
 *                                   default) or {@link TlsConfig#mutual mutual TLS}
 * @param maxPendingHandshakes       most accepted connections in their handshake (TLS and Hello) at
 *                                   once; one more is closed at once ({@link RejectReason#TOO_MANY_HANDSHAKES})
 * @param maxInboundBufferedBytes    most bytes all connections' frame decoders together may hold
 *                                   waiting for the rest of a frame; a read that would pass it
 *                                   closes its connection ({@link RejectReason#INBOUND_MEMORY_FULL}).
 *                                   Must be at least twice {@code maxFrameBytes}
 */
public record NettyTransportConfig(
        String clusterId,
        String nodeId,
        InetSocketAddress listenAddress,
        Map<String, InetSocketAddress> peers,
        int maxFrameBytes,
        long maxOutboundBytesPerPeer,
        long connectTimeoutMillis,
        long handshakeTimeoutMillis,
        long idleTimeoutMillis,
        long reconnectBackoffMinMillis,
        long reconnectBackoffMaxMillis,
        int ioThreads,
        TlsConfig tls,
        int maxPendingHandshakes,
        long maxInboundBufferedBytes) {

    public static final int DEFAULT_MAX_FRAME_BYTES = 8 << 20;
    public static final long DEFAULT_MAX_OUTBOUND_BYTES_PER_PEER = 64L << 20;
    public static final long DEFAULT_CONNECT_TIMEOUT_MILLIS = 2_000;
    public static final long DEFAULT_HANDSHAKE_TIMEOUT_MILLIS = 5_000;
    public static final long DEFAULT_IDLE_TIMEOUT_MILLIS = 15_000;
    public static final long DEFAULT_RECONNECT_BACKOFF_MIN_MILLIS = 50;
    public static final long DEFAULT_RECONNECT_BACKOFF_MAX_MILLIS = 2_000;
    public static final int DEFAULT_IO_THREADS = 2;
    public static final int DEFAULT_MAX_PENDING_HANDSHAKES = 64;
    public static final long DEFAULT_MAX_INBOUND_BUFFERED_BYTES = 64L << 20;

    /** Smallest accepted {@code maxFrameBytes}: room for any message without entries or payload. */
    public static final int MIN_MAX_FRAME_BYTES = 1024;

    public NettyTransportConfig {
        requireText("clusterId", clusterId);
        requireText("nodeId", nodeId);
        Objects.requireNonNull(listenAddress, "listenAddress");
        Objects.requireNonNull(peers, "peers");
        Objects.requireNonNull(tls, "tls");
        Map<String, InetSocketAddress> others = new LinkedHashMap<>();
        peers.forEach((id, address) -> {
            requireText("peer id", id);
            Objects.requireNonNull(address, () -> "address of peer " + id);
            if (!id.equals(nodeId)) {
                others.put(id, address);
            }
        });
        peers = Map.copyOf(others);
        if (maxFrameBytes < MIN_MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("maxFrameBytes must be at least " + MIN_MAX_FRAME_BYTES + ", was "
                    + maxFrameBytes);
        }
        if (maxOutboundBytesPerPeer < 2L * maxFrameBytes) {
            throw new IllegalArgumentException("maxOutboundBytesPerPeer (" + maxOutboundBytesPerPeer
                    + ") must be at least twice maxFrameBytes (" + maxFrameBytes + ") so a largest frame always fits");
        }
        positive("connectTimeoutMillis", connectTimeoutMillis);
        positive("handshakeTimeoutMillis", handshakeTimeoutMillis);
        if (idleTimeoutMillis < 30) {
            throw new IllegalArgumentException("idleTimeoutMillis must be at least 30 (pings go every third), was "
                    + idleTimeoutMillis);
        }
        positive("reconnectBackoffMinMillis", reconnectBackoffMinMillis);
        if (reconnectBackoffMaxMillis < reconnectBackoffMinMillis) {
            throw new IllegalArgumentException("reconnectBackoffMaxMillis (" + reconnectBackoffMaxMillis
                    + ") must not be below reconnectBackoffMinMillis (" + reconnectBackoffMinMillis + ")");
        }
        positive("ioThreads", ioThreads);
        positive("maxPendingHandshakes", maxPendingHandshakes);
        if (maxInboundBufferedBytes < 2L * maxFrameBytes) {
            throw new IllegalArgumentException("maxInboundBufferedBytes (" + maxInboundBufferedBytes
                    + ") must be at least twice maxFrameBytes (" + maxFrameBytes + ")");
        }
    }

    /** A builder with every limit at its default; {@code clusterId}, {@code nodeId} and {@code peers} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /** How often the dialer pings an otherwise quiet connection: a third of the idle timeout. */
    public long keepAliveIntervalMillis() {
        return idleTimeoutMillis / 3;
    }

    /** The part of {@link #maxOutboundBytesPerPeer} kept for control messages (votes, heartbeats, replies). */
    public long controlLaneBytes() {
        return maxOutboundBytesPerPeer / 8;
    }

    /** The part of {@link #maxOutboundBytesPerPeer} for AppendEntries and forwarded client calls. */
    public long bulkLaneBytes() {
        return maxOutboundBytesPerPeer - controlLaneBytes();
    }

    private static void requireText(String name, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " must be a non-blank string, was " + value);
        }
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
    }

    /** Assembles a {@link NettyTransportConfig}. Not thread-safe. */
    public static final class Builder {

        private String clusterId;
        private String nodeId;
        private InetSocketAddress listenAddress;
        private Map<String, InetSocketAddress> peers;
        private int maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
        private long maxOutboundBytesPerPeer = DEFAULT_MAX_OUTBOUND_BYTES_PER_PEER;
        private long connectTimeoutMillis = DEFAULT_CONNECT_TIMEOUT_MILLIS;
        private long handshakeTimeoutMillis = DEFAULT_HANDSHAKE_TIMEOUT_MILLIS;
        private long idleTimeoutMillis = DEFAULT_IDLE_TIMEOUT_MILLIS;
        private long reconnectBackoffMinMillis = DEFAULT_RECONNECT_BACKOFF_MIN_MILLIS;
        private long reconnectBackoffMaxMillis = DEFAULT_RECONNECT_BACKOFF_MAX_MILLIS;
        private int ioThreads = DEFAULT_IO_THREADS;
        private TlsConfig tls = TlsConfig.plaintext();
        private int maxPendingHandshakes = DEFAULT_MAX_PENDING_HANDSHAKES;
        private long maxInboundBufferedBytes = DEFAULT_MAX_INBOUND_BUFFERED_BYTES;

        private Builder() {
        }

        /** The cluster's id; every member must use the same. */
        public Builder clusterId(String clusterId) {
            this.clusterId = clusterId;
            return this;
        }

        /** This node's id. */
        public Builder nodeId(String nodeId) {
            this.nodeId = nodeId;
            return this;
        }

        /** Where to listen; defaults to this node's own entry in {@link #peers}. */
        public Builder listenAddress(InetSocketAddress listenAddress) {
            this.listenAddress = listenAddress;
            return this;
        }

        /** Every member's id and address; including this node is fine (its entry is the default listen address). */
        public Builder peers(Map<String, InetSocketAddress> peers) {
            this.peers = Map.copyOf(peers);
            return this;
        }

        /** See {@link NettyTransportConfig#maxFrameBytes()}. */
        public Builder maxFrameBytes(int maxFrameBytes) {
            this.maxFrameBytes = maxFrameBytes;
            return this;
        }

        /** See {@link NettyTransportConfig#maxOutboundBytesPerPeer()}. */
        public Builder maxOutboundBytesPerPeer(long maxOutboundBytesPerPeer) {
            this.maxOutboundBytesPerPeer = maxOutboundBytesPerPeer;
            return this;
        }

        /** See {@link NettyTransportConfig#connectTimeoutMillis()}. */
        public Builder connectTimeoutMillis(long connectTimeoutMillis) {
            this.connectTimeoutMillis = connectTimeoutMillis;
            return this;
        }

        /** See {@link NettyTransportConfig#handshakeTimeoutMillis()}. */
        public Builder handshakeTimeoutMillis(long handshakeTimeoutMillis) {
            this.handshakeTimeoutMillis = handshakeTimeoutMillis;
            return this;
        }

        /** See {@link NettyTransportConfig#idleTimeoutMillis()}. */
        public Builder idleTimeoutMillis(long idleTimeoutMillis) {
            this.idleTimeoutMillis = idleTimeoutMillis;
            return this;
        }

        /** See {@link NettyTransportConfig#reconnectBackoffMinMillis()} and {@code ...MaxMillis()}. */
        public Builder reconnectBackoffMillis(long minMillis, long maxMillis) {
            this.reconnectBackoffMinMillis = minMillis;
            this.reconnectBackoffMaxMillis = maxMillis;
            return this;
        }

        /** See {@link NettyTransportConfig#ioThreads()}. */
        public Builder ioThreads(int ioThreads) {
            this.ioThreads = ioThreads;
            return this;
        }

        /** How connections are secured: {@link TlsConfig#plaintext()} (default) or {@link TlsConfig#mutual}. */
        public Builder tls(TlsConfig tls) {
            this.tls = tls;
            return this;
        }

        /** See {@link NettyTransportConfig#maxPendingHandshakes()}. */
        public Builder maxPendingHandshakes(int maxPendingHandshakes) {
            this.maxPendingHandshakes = maxPendingHandshakes;
            return this;
        }

        /** See {@link NettyTransportConfig#maxInboundBufferedBytes()}. */
        public Builder maxInboundBufferedBytes(long maxInboundBufferedBytes) {
            this.maxInboundBufferedBytes = maxInboundBufferedBytes;
            return this;
        }

        /**
         * Builds and validates the config.
         *
         * @throws IllegalArgumentException if a value is missing or out of range, or no listen
         *                                  address is given and {@code peers} has no entry for this node
         */
        public NettyTransportConfig build() {
            if (peers == null) {
                throw new IllegalArgumentException("peers are required");
            }
            InetSocketAddress listen = listenAddress != null ? listenAddress : peers.get(nodeId);
            if (listen == null) {
                throw new IllegalArgumentException("no listenAddress given and peers has no entry for node " + nodeId);
            }
            return new NettyTransportConfig(clusterId, nodeId, listen, peers, maxFrameBytes, maxOutboundBytesPerPeer,
                    connectTimeoutMillis, handshakeTimeoutMillis, idleTimeoutMillis, reconnectBackoffMinMillis,
                    reconnectBackoffMaxMillis, ioThreads, tls, maxPendingHandshakes, maxInboundBufferedBytes);
        }
    }
}
