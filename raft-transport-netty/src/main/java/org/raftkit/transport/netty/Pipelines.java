package org.raftkit.transport.netty;

import java.net.InetSocketAddress;

import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;

import org.raftkit.spi.Transport.MessageHandler;

/**
 * Builds the pipeline of every connection of one transport, accepted or dialed, in one order:
 * TLS (when on) first, so nothing a peer sends reaches the frame decoder before its certificate
 * was checked; then the frame decoder with its small first-frame limit, the envelope encoder, the
 * idle timer, and the side's own handler. Called by Netty on the connection's event loop as the
 * channel registers; does not block (see {@link TlsMaterial} for its once-a-second file check).
 */
final class Pipelines {

    private final NettyTransportConfig config;
    private final Counters counters;
    private final ConnectionGuard guard;
    private final InboundLimits limits;
    /** Null in plaintext. */
    private final TlsMaterial tls;

    /** Whether a node id is accepted in a handshake (it is a member). */
    private final java.util.function.Predicate<String> isMember;

    Pipelines(NettyTransportConfig config, Counters counters, ConnectionGuard guard, InboundLimits limits,
              TlsMaterial tls, java.util.function.Predicate<String> isMember) {
        this.isMember = isMember;
        this.config = config;
        this.counters = counters;
        this.guard = guard;
        this.limits = limits;
        this.tls = tls;
    }

    /** A connection a peer dialed; its messages go to {@code handler}. */
    void initAccepted(SocketChannel ch, MessageHandler handler) {
        ChannelPipeline p = ch.pipeline();
        if (tls != null) {
            p.addLast("tls", tls.newServerHandler(ch.alloc()));
        }
        Frames.addFraming(p, config, limits)
                .addLast(new InboundConnectionHandler(config, counters, guard, limits, handler, isMember));
    }

    /** A connection {@code link} dials to its peer at {@code address}. */
    void initDialed(SocketChannel ch, PeerLink link, InetSocketAddress address, String label) {
        ChannelPipeline p = ch.pipeline();
        if (tls != null) {
            p.addLast("tls", tls.newClientHandler(ch.alloc(), address));
        }
        Frames.addFraming(p, config, limits).addLast(new OutboundConnectionHandler(link, config, guard, label));
    }
}
