package org.raftkit.transport.netty;

import java.net.InetSocketAddress;
import java.util.SplittableRandom;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;

import org.raftkit.message.Message;
import org.raftkit.transport.netty.wire.Envelope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's one outbound connection to one peer, kept up for the transport's lifetime: dials,
 * redials with {@link Backoff} after any loss, and writes the peer's {@link OutboundLanes}.
 *
 * <p>Threads: {@link #offer} is called on any thread (it is {@code Transport.send}'s hot path) and
 * never blocks: it queues the message and, if no drain is pending, schedules one on the peer's
 * event loop. That is the only hand-off, one per burst of sends rather than one per message, and
 * the drain writes the whole burst and flushes once. Everything else runs on the peer's event loop,
 * which every connection to this peer uses, so connection state needs no locks.
 */
final class PeerLink {

    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);

    private final String peerId;
    private final InetSocketAddress address;
    private final NettyTransportConfig config;
    private final Counters counters;
    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final OutboundLanes lanes;
    private final Backoff backoff;
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final AtomicBoolean warnedTooLarge = new AtomicBoolean();
    private final Runnable drainTask = this::drain;

    /** The handshaken connection, or null. Written on the loop; read by {@link #offer} on any thread. */
    private volatile Channel ready;
    private volatile boolean closed;
    /** The latest connection, connecting or handshaken; null before the first dial. Event loop only. */
    private Channel current;
    /** Whether the last attempt reached the peer, so an outage is logged once at INFO, then at DEBUG. */
    private boolean reachable = true;

    /**
     * @param bootstrap a bootstrap with the channel type and options; this link sets its event
     *                  loop, remote address and pipeline
     */
    PeerLink(String peerId, InetSocketAddress address, NettyTransportConfig config, Counters counters,
             Pipelines pipelines, EventLoop loop, Bootstrap bootstrap) {
        this.peerId = peerId;
        this.address = address;
        this.config = config;
        this.counters = counters;
        this.loop = loop;
        String label = "to " + peerId + " at " + address;
        this.bootstrap = bootstrap.group(loop).remoteAddress(address).handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                pipelines.initDialed(ch, PeerLink.this, address, label);
            }
        });
        this.lanes = new OutboundLanes(config.controlLaneBytes(), config.bulkLaneBytes());
        this.backoff = new Backoff(config.reconnectBackoffMinMillis(), config.reconnectBackoffMaxMillis(),
                new SplittableRandom());
    }

    String peerId() {
        return peerId;
    }

    /** Where this link dials. */
    InetSocketAddress address() {
        return address;
    }

    /** Starts dialing. Any thread. */
    void start() {
        loop.execute(this::connect);
    }

    /**
     * Queues {@code m} for the peer, or drops it (counted) if there is no handshaken connection or
     * its lane is full. Any thread; never blocks, never throws.
     */
    void offer(Message m) {
        if (ready == null) {
            counters.dropped(closed ? DropReason.CLOSED : DropReason.NOT_CONNECTED);
            return;
        }
        if (!lanes.offer(m)) {
            counters.dropped(DropReason.OUTBOUND_FULL);
            return;
        }
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                loop.execute(drainTask);
            } catch (RejectedExecutionException shutDown) {
                // close() raced with this send: the event loop is gone, so nothing will write these.
                counters.dropped(DropReason.CLOSED, lanes.clear());
            }
        }
    }

    /** Estimated bytes queued and not yet handed to the socket. */
    long queuedBytes() {
        return lanes.queuedBytes();
    }

    /** Whether a handshaken connection exists now. */
    boolean connected() {
        return ready != null;
    }

    /** Stops redialing and closes the connection. Any thread; returns at once. */
    void close() {
        closed = true;
        ready = null;
        loop.execute(() -> {
            counters.dropped(DropReason.CLOSED, lanes.clear());
            if (current != null) {
                current.close();
            }
        });
    }

    // ---------------------------------------------------------------------------------------------
    // On the event loop
    // ---------------------------------------------------------------------------------------------

    /** Writes queued messages while the socket takes them, control lane first; flushes once. */
    void drain() {
        drainScheduled.set(false);
        Channel ch = ready;
        if (ch == null) {
            counters.dropped(DropReason.DISCONNECTED, lanes.clear());
            return;
        }
        boolean wrote = false;
        while (ch.isWritable()) {
            Message m = lanes.poll();
            if (m == null) {
                break;
            }
            Envelope envelope = MessageCodec.encode(m);
            int bodyBytes = envelope.getSerializedSize();
            if (bodyBytes > config.maxFrameBytes()) {
                tooLarge(m, bodyBytes);
                continue;
            }
            ch.write(envelope, ch.voidPromise());
            counters.sent(Frames.LENGTH_PREFIX_BYTES + bodyBytes);
            wrote = true;
        }
        if (wrote) {
            ch.flush();
        }
    }

    /** The handshake on {@code ch} succeeded: messages may flow. */
    void onHandshaken(Channel ch) {
        if (closed) {
            ch.close();
            return;
        }
        backoff.reset();
        reachable = true;
        ready = ch;
        LOG.info("{} connected to {} at {}", config.nodeId(), peerId, address);
    }

    private void connect() {
        if (closed) {
            return;
        }
        ChannelFuture f = bootstrap.connect();
        Channel ch = f.channel();
        current = ch;
        // Every attempt ends in a close, failed connects included, so this is the one place that redials.
        ch.closeFuture().addListener(closing -> onClosed(ch, f));
    }

    private void onClosed(Channel ch, ChannelFuture connect) {
        boolean wasReady = ready == ch;
        if (wasReady) {
            ready = null;
            counters.dropped(DropReason.DISCONNECTED, lanes.clear());
        }
        if (closed) {
            return;
        }
        long delay = backoff.nextDelayMillis();
        if (wasReady) {
            LOG.info("{} lost its connection to {} at {}; reconnecting", config.nodeId(), peerId, address);
        } else if (!connect.isSuccess() && reachable) {
            reachable = false;
            LOG.info("{} cannot reach {} at {} ({}); retrying with backoff up to {} ms", config.nodeId(), peerId,
                    address, connect.cause(), config.reconnectBackoffMaxMillis());
        } else {
            LOG.debug("{} retries {} at {} in {} ms", config.nodeId(), peerId, address, delay);
        }
        loop.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    private void tooLarge(Message m, int bodyBytes) {
        counters.dropped(DropReason.FRAME_TOO_LARGE);
        // Raft resends the same batch, so this would repeat every heartbeat: warn once per peer.
        if (warnedTooLarge.compareAndSet(false, true)) {
            LOG.warn("{} dropped a {} of {} bytes to {}: above maxFrameBytes {}; raise it above "
                    + "RaftConfig.maxAppendBytes plus the largest command (further drops are only counted)",
                    config.nodeId(), m.getClass().getSimpleName(), bodyBytes, peerId, config.maxFrameBytes());
        }
    }
}
