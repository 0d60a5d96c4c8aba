package org.raftkit.transport.netty;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

import org.raftkit.message.Message;
import org.raftkit.spi.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Raft messages between the nodes of one cluster over TCP, with Netty: the {@link Transport} to
 * use outside tests. docs/TRANSPORT.md describes the wire format and the behaviour in full.
 *
 * <pre>{@code
 * NettyTransport transport = NettyTransport.create(NettyTransportConfig.builder()
 *     .clusterId("raft-kv").nodeId("n1")
 *     .peers(Map.of("n1", addr1, "n2", addr2, "n3", addr3))   // listens on addr1
 *     .build());
 * RaftServer server = RaftServer.builder().id("n1").peers("n1", "n2", "n3").transport(transport)...build();
 * }</pre>
 *
 * <ul>
 *   <li><b>Connections.</b> One outbound connection per peer, dialed at {@link #start} and redialed
 *       after any loss with capped exponential backoff and jitter. Messages to a peer travel on
 *       this node's connection to it; the peer's replies on its connection to this node.</li>
 *   <li><b>Handshake.</b> A connection carries messages only after the dialer's Hello (cluster id,
 *       its node id, the node id it meant to reach) was accepted. A foreign cluster, an unknown
 *       node, a wrong target, garbage, a frame above {@code maxFrameBytes} (4 KiB before the
 *       handshake), a dialer that does not finish the handshake in time or falls silent: that
 *       connection is closed with at most one WARN line (at most one a second per reason) and
 *       counted in {@link #stats()}; nothing of it reaches Raft, and nothing else is affected.</li>
 *   <li><b>TLS.</b> With {@link TlsConfig#mutual mutual TLS}, both ends present certificates from
 *       the trust bundle, each naming its node ({@link TlsConfig#nodeUri}); a peer without one is
 *       closed before any of its bytes reaches the frame decoder.</li>
 *   <li><b>Bounds.</b> At most {@code maxPendingHandshakes} accepted connections in their
 *       handshake, and {@code maxInboundBufferedBytes} held by all frame decoders together.</li>
 *   <li><b>Backpressure.</b> {@link #send} never blocks: a message for a peer that is not connected,
 *       or whose queue is at {@code maxOutboundBytesPerPeer}, is dropped and counted; Raft retries.</li>
 *   <li><b>Latency.</b> Votes, heartbeats and replies go in a lane ahead of AppendEntries, and
 *       messages sent together are written together with one flush.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * {@code ioThreads} Netty event loops named {@code raftkit-<nodeId>-netty-…}, started by
 * {@link #start} and stopped by {@link #close}. Inbound messages are handed to the handler on
 * them. Thread-safe.
 */
public final class NettyTransport implements Transport {

    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);

    /**
     * Netty's outbound buffer per connection: the lanes feed it only while it holds less than the
     * high mark, so a heartbeat queued now waits behind at most this much (plus one frame, plus
     * what the kernel holds), however much AppendEntries traffic is queued.
     */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);

    /** How long {@link #close} waits for the event loops to end. */
    private static final long CLOSE_TIMEOUT_MILLIS = 5_000;

    private final NettyTransportConfig config;
    private final Counters counters = new Counters();
    private final InboundLimits limits;
    private final Pipelines pipelines;

    private EventLoopGroup group;
    /** The event loops' threads, joined by close. */
    private final Queue<Thread> threads = new ConcurrentLinkedQueue<>();
    private Channel serverChannel;
    /**
     * Outbound links by peer id; empty until started. Replaced whole (copy on write) in start and
     * in {@link #updateMembers}, under this object's lock; read without it by {@link #send}.
     */
    private volatile Map<String, PeerLink> links = Map.of();
    /**
     * The node ids accepted in a handshake: the configured peers, then the members of the
     * configuration in use ({@link #updateMembers}). Empty for a node that waits to be added: it
     * accepts any node of its cluster, since it cannot know who will add it.
     */
    private volatile java.util.Set<String> members;
    private Bootstrap outbound;
    private volatile boolean started;
    private volatile boolean closed;

    private NettyTransport(NettyTransportConfig config, TlsMaterial tls) {
        this.config = config;
        this.limits = new InboundLimits(config.maxPendingHandshakes(), config.maxInboundBufferedBytes());
        this.members = java.util.Set.copyOf(config.peers().keySet());
        this.pipelines = new Pipelines(config, counters, new ConnectionGuard(config.nodeId(), counters), limits, tls,
                this::isMember);
    }

    /**
     * A transport for {@code config}. Starts nothing: no thread, no socket until {@link #start}.
     * With TLS, reads and checks the certificate, key and trust files here, so a bad file stops
     * the node before anything of it runs.
     *
     * @throws IllegalArgumentException naming the file, if a TLS file is missing, unreadable or
     *                                  wrong (see {@link TlsConfig})
     */
    public static NettyTransport create(NettyTransportConfig config) {
        Objects.requireNonNull(config, "config");
        TlsMaterial tls = config.tls().enabled()
                ? TlsMaterial.load(config.tls(), config.clusterId(), config.nodeId())
                : null;
        return new NettyTransport(config, tls);
    }

    /**
     * Binds the listen address, then starts dialing every peer. Called once, by the runtime
     * ({@code RaftServer.start}), before any {@link #send}; blocks until the bind is done.
     * Inbound messages go to {@code handler} on a Netty thread.
     *
     * @throws UncheckedIOException  if the listen address cannot be bound; the message names it. The
     *                               transport is then closed
     * @throws IllegalStateException if already started or closed
     */
    @Override
    public synchronized void start(MessageHandler handler) {
        Objects.requireNonNull(handler, "handler");
        if (started || closed) {
            throw new IllegalStateException("transport of " + config.nodeId() + " is "
                    + (closed ? "closed" : "already started"));
        }
        started = true;
        group = new NioEventLoopGroup(config.ioThreads(), new DefaultThreadFactory("raftkit-" + config.nodeId()
                + "-netty") {
            @Override
            protected Thread newThread(Runnable r, String name) {
                Thread t = super.newThread(r, name);
                threads.add(t);
                return t;
            }
        });
        try {
            serverChannel = serverBootstrap(handler).bind(config.listenAddress()).syncUninterruptibly().channel();
        } catch (Exception e) { // Netty rethrows the bind's IOException undeclared, hence Exception
            close();
            throw new UncheckedIOException(config.nodeId() + " cannot listen on " + config.listenAddress() + ": "
                    + e.getMessage(), e instanceof IOException io ? io : new IOException(e));
        }
        Map<String, PeerLink> created = new LinkedHashMap<>();
        outbound = outboundBootstrap();
        config.peers().forEach((id, address) -> created.put(id,
                new PeerLink(id, address, config, counters, pipelines, group.next(), outbound.clone())));
        links = Map.copyOf(created);
        LOG.info("{} listening on {} for cluster {}, peers {}, {}", config.nodeId(), localAddress(),
                config.clusterId(), config.peers(), config.tls());
        created.values().forEach(PeerLink::start);
    }

    /**
     * Queues {@code message} for {@code message.to()}. Called on any of the runtime's threads;
     * thread-safe, never blocks, never throws: a message that cannot go now (unknown or
     * unconnected peer, full queue, not started or closed) is dropped and counted in
     * {@link #stats()}.
     */
    @Override
    public void send(Message message) {
        if (closed || !started) {
            counters.dropped(DropReason.CLOSED);
            return;
        }
        PeerLink link = links.get(message.to());
        if (link == null) {
            counters.dropped(DropReason.UNKNOWN_PEER);
            return;
        }
        link.offer(message);
    }

    /**
     * The configuration in use changed (see {@link Transport#updateMembers}): dials members that are
     * new or whose address changed, closes the links to members that left, and from now on accepts
     * handshakes from these members only. An address is {@code host:port}; an empty one keeps the
     * address this transport was configured with for that id. An address that does not parse is
     * logged at WARN and that member left unreachable. Called on the Raft thread; never blocks
     * (dialing happens on the event loops) and never throws. Before {@link #start}, only the
     * accepted ids change; start dials the configured peers.
     */
    @Override
    public synchronized void updateMembers(Map<String, String> addresses) {
        if (closed) {
            return;
        }
        java.util.Set<String> ids = new java.util.HashSet<>(addresses.keySet());
        ids.remove(config.nodeId());
        members = java.util.Set.copyOf(ids);
        if (!started) {
            return;
        }
        Map<String, PeerLink> next = new LinkedHashMap<>();
        java.util.List<PeerLink> toStart = new java.util.ArrayList<>();
        for (Map.Entry<String, String> e : addresses.entrySet()) {
            String id = e.getKey();
            if (id.equals(config.nodeId())) {
                continue;
            }
            PeerLink existing = links.get(id);
            InetSocketAddress address = e.getValue().isEmpty() ? config.peers().get(id) : parse(id, e.getValue());
            if (address == null) {
                if (e.getValue().isEmpty()) {
                    LOG.warn("{}: member {} has no address in the configuration and none was configured; it is "
                            + "unreachable from here", config.nodeId(), id);
                }
                continue;
            }
            if (existing != null && sameAddress(existing.address(), address)) {
                next.put(id, existing);
                continue;
            }
            PeerLink link = new PeerLink(id, address, config, counters, pipelines, group.next(), outbound.clone());
            next.put(id, link);
            toStart.add(link);
        }
        Map<String, PeerLink> before = links;
        links = Map.copyOf(next);
        for (Map.Entry<String, PeerLink> e : before.entrySet()) {
            if (next.get(e.getKey()) != e.getValue()) {
                e.getValue().close();
            }
        }
        toStart.forEach(PeerLink::start);
        if (!toStart.isEmpty() || before.size() != next.size()) {
            LOG.info("{} now connects to {}", config.nodeId(), describe(next));
        }
    }

    private InetSocketAddress parse(String id, String address) {
        int colon = address.lastIndexOf(':');
        try {
            if (colon <= 0) {
                throw new IllegalArgumentException("no port");
            }
            int port = Integer.parseInt(address.substring(colon + 1));
            String host = address.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            // Unresolved: name resolution happens when the event loop dials, never on the caller's thread.
            return InetSocketAddress.createUnresolved(host, port);
        } catch (IllegalArgumentException e) {
            LOG.warn("{}: member {} has the address '{}', which is not host:port ({}); it is unreachable from here",
                    config.nodeId(), id, address, e.getMessage());
            return null;
        }
    }

    private static boolean sameAddress(InetSocketAddress a, InetSocketAddress b) {
        return a.getPort() == b.getPort() && a.getHostString().equals(b.getHostString());
    }

    private static String describe(Map<String, PeerLink> links) {
        StringBuilder s = new StringBuilder("{");
        links.forEach((id, link) -> s.append(s.length() > 1 ? ", " : "").append(id).append('=')
                .append(link.address().getHostString()).append(':').append(link.address().getPort()));
        return s.append('}').toString();
    }

    /** Whether a handshake from {@code nodeId} is accepted: a member, or anyone while this node knows none. */
    boolean isMember(String nodeId) {
        java.util.Set<String> m = members;
        return m.isEmpty() || m.contains(nodeId);
    }

    /**
     * {@link NettyTransportConfig#maxEntryBytesPerMessage()}: what fits in {@code maxFrameBytes}
     * once the envelope and the entries' wire overhead are counted. The server refuses to build
     * if a full AppendEntries batch, a largest command or a snapshot chunk would not fit. Any
     * thread; never blocks.
     */
    @Override
    public long maxEntryBytesPerMessage() {
        return config.maxEntryBytesPerMessage();
    }

    /**
     * The address actually bound (useful with port 0), or null before {@link #start}. Any thread.
     */
    public InetSocketAddress localAddress() {
        Channel ch = serverChannel;
        return ch == null ? null : (InetSocketAddress) ch.localAddress();
    }

    /** A snapshot of the counters since creation, and each peer's queue and connection. Any thread; cheap. */
    public TransportStats stats() {
        Map<String, Long> queued = new LinkedHashMap<>();
        Map<String, Boolean> connected = new LinkedHashMap<>();
        for (PeerLink link : links.values()) {
            queued.put(link.peerId(), link.queuedBytes());
            connected.put(link.peerId(), link.connected());
        }
        return counters.snapshot(queued, connected, limits);
    }

    /** This transport's configuration. */
    public NettyTransportConfig config() {
        return config;
    }

    /**
     * Stops accepting, closes every connection (queued messages are dropped), and stops the event
     * loops, waiting up to 5 s for them to end so no thread or socket outlives this call. Called by
     * the runtime in {@code RaftServer.close}; any thread but this transport's own. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (serverChannel != null) {
            serverChannel.close().awaitUninterruptibly(CLOSE_TIMEOUT_MILLIS);
        }
        links.values().forEach(PeerLink::close);
        if (group != null) {
            // No quiet period: Raft needs nothing delivered after close. shutdownGracefully closes
            // every channel still registered and releases the selectors.
            var termination = group.shutdownGracefully(0, CLOSE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            if (!group.next().inEventLoop()) {
                termination.awaitUninterruptibly(CLOSE_TIMEOUT_MILLIS + 1_000);
                joinThreads();
            }
        }
        LOG.info("{} transport closed", config.nodeId());
    }

    @Override
    public String toString() {
        return "NettyTransport{" + config.nodeId() + "@" + config.listenAddress() + (closed ? ", closed" : "") + "}";
    }

    /**
     * Waits for the event loop threads themselves to end: Netty completes the termination future
     * just before a loop's thread returns, and "no thread outlives close()" is the promise.
     */
    private void joinThreads() {
        for (Thread t : threads) {
            try {
                t.join(CLOSE_TIMEOUT_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private ServerBootstrap serverBootstrap(MessageHandler handler) {
        return new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                // A restarted node binds the port its predecessor left in TIME_WAIT.
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        pipelines.initAccepted(ch, handler);
                    }
                });
    }

    private Bootstrap outboundBootstrap() {
        return new Bootstrap()
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE,
                        config.connectTimeoutMillis()))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK);
    }
}
