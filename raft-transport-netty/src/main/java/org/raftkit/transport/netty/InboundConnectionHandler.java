package org.raftkit.transport.netty;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.timeout.IdleStateEvent;

import org.raftkit.message.Message;
import org.raftkit.spi.Transport.MessageHandler;
import org.raftkit.transport.netty.wire.Envelope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The acceptor's end of one connection a peer dialed: checks the peer's Hello, answers pings, and
 * hands each valid message to Raft. Anything else is rejected through the {@link ConnectionGuard}
 * and never reaches Raft.
 *
 * <p>One instance per connection, on the connection's event loop. {@link MessageHandler#onMessage}
 * is called on that event loop; the runtime's handler only enqueues, so nothing here blocks.
 */
final class InboundConnectionHandler extends SimpleChannelInboundHandler<ByteBuf> {

    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);

    private final NettyTransportConfig config;
    private final Counters counters;
    private final ConnectionGuard guard;
    private final MessageHandler handler;

    private String label;
    private ScheduledFuture<?> handshakeTimeout;
    /** The peer's node id once its Hello was accepted; null before. */
    private String peerId;
    private Envelope pong;

    InboundConnectionHandler(NettyTransportConfig config, Counters counters, ConnectionGuard guard,
                             MessageHandler handler) {
        this.config = config;
        this.counters = counters;
        this.guard = guard;
        this.handler = handler;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        label = "from " + ctx.channel().remoteAddress();
        long timeout = config.handshakeTimeoutMillis();
        handshakeTimeout = ctx.executor().schedule(() -> guard.reject(ctx.channel(), label,
                RejectReason.HANDSHAKE_TIMEOUT, "no valid hello within " + timeout + " ms"), timeout, TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf body) {
        int frameBytes = Frames.LENGTH_PREFIX_BYTES + body.readableBytes();
        try {
            Envelope envelope = Frames.parse(body);
            if (peerId == null) {
                onHello(ctx, envelope);
            } else {
                onMessage(ctx, envelope, frameBytes);
            }
        } catch (WireFormatException e) {
            guard.handle(ctx.channel(), label, e);
        }
    }

    private void onHello(ChannelHandlerContext ctx, Envelope first) {
        Handshake.Refusal refusal = Handshake.check(first, config);
        if (refusal != null) {
            guard.reject(ctx.channel(), label, refusal.reason(), refusal.detail(),
                    Handshake.helloReject(config.nodeId(), refusal.reason().name()));
            return;
        }
        handshakeTimeout.cancel(false);
        peerId = first.getFrom();
        label = "from " + peerId + " at " + ctx.channel().remoteAddress();
        pong = Handshake.pong(config.nodeId(), peerId);
        ctx.writeAndFlush(Handshake.helloAck(config.nodeId(), peerId));
        LOG.debug("{} accepted connection {}", config.nodeId(), label);
    }

    private void onMessage(ChannelHandlerContext ctx, Envelope envelope, int frameBytes) throws WireFormatException {
        switch (envelope.getBodyCase()) {
            case PING:
                ctx.writeAndFlush(pong);
                return;
            case HELLO:
            case HELLO_ACK:
            case HELLO_REJECT:
            case PONG:
                guard.reject(ctx.channel(), label, RejectReason.PROTOCOL_VIOLATION,
                        envelope.getBodyCase() + " after the handshake");
                return;
            default:
                break;
        }
        // Checked before decoding: a message in another node's name, or for another node, is
        // refused whatever it carries.
        if (!envelope.getFrom().equals(peerId) || !envelope.getTo().equals(config.nodeId())) {
            guard.reject(ctx.channel(), label, RejectReason.MISADDRESSED, "message from \"" + envelope.getFrom()
                    + "\" to \"" + envelope.getTo() + "\" on " + peerId + "'s connection to " + config.nodeId());
            return;
        }
        Message m = MessageCodec.decode(envelope);
        counters.received(frameBytes);
        handler.onMessage(m);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof IdleStateEvent) {
            guard.reject(ctx.channel(), label, RejectReason.IDLE_TIMEOUT,
                    "nothing read for " + config.idleTimeoutMillis() + " ms");
        } else {
            ctx.fireUserEventTriggered(event);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (handshakeTimeout != null) {
            handshakeTimeout.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        guard.onException(ctx.channel(), label, cause);
    }
}
