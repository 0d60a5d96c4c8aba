package org.raftkit.transport.netty;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.timeout.IdleStateEvent;

import org.raftkit.transport.netty.wire.Envelope;

/**
 * The dialer's end of one connection to a peer: sends the Hello, waits for the peer's answer, then
 * hands the connection to its {@link PeerLink} and pings it every {@code keepAliveIntervalMillis}.
 * The peer only ever answers (HelloAck or HelloReject, then Pongs); anything else it sends is a
 * protocol violation. When the socket becomes writable again, the link writes what it queued.
 *
 * <p>One instance per connection, on the peer's event loop.
 */
final class OutboundConnectionHandler extends SimpleChannelInboundHandler<ByteBuf> {

    private final PeerLink link;
    private final NettyTransportConfig config;
    private final ConnectionGuard guard;
    private final String label;

    private ScheduledFuture<?> handshakeTimeout;
    private ScheduledFuture<?> keepAlive;
    private boolean handshaken;

    OutboundConnectionHandler(PeerLink link, NettyTransportConfig config, ConnectionGuard guard, String label) {
        this.link = link;
        this.config = config;
        this.guard = guard;
        this.label = label;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        long timeout = config.handshakeTimeoutMillis();
        handshakeTimeout = ctx.executor().schedule(() -> guard.reject(ctx.channel(), label,
                RejectReason.HANDSHAKE_TIMEOUT, "no answer to hello within " + timeout + " ms"), timeout,
                TimeUnit.MILLISECONDS);
        ctx.writeAndFlush(Handshake.hello(config.clusterId(), config.nodeId(), link.peerId()))
                .addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf body) {
        try {
            onReply(ctx, Frames.parse(body));
        } catch (WireFormatException e) {
            guard.handle(ctx.channel(), label, e);
        }
    }

    private void onReply(ChannelHandlerContext ctx, Envelope reply) throws WireFormatException {
        switch (reply.getBodyCase()) {
            case HELLO_ACK:
                if (handshaken) {
                    break;
                }
                if (!reply.getFrom().equals(link.peerId())) {
                    guard.reject(ctx.channel(), label, RejectReason.REFUSED_BY_PEER,
                            "the node at this address is \"" + reply.getFrom() + "\", not " + link.peerId());
                    return;
                }
                onHandshaken(ctx);
                return;
            case HELLO_REJECT:
                guard.reject(ctx.channel(), label, RejectReason.REFUSED_BY_PEER,
                        "peer refused our hello: " + reply.getHelloReject().getReason());
                return;
            case PONG:
                return; // reading it is the point: the idle timer restarts
            case BODY_NOT_SET:
                throw new WireFormatException(RejectReason.UNKNOWN_MESSAGE, "unknown reply from " + link.peerId());
            default:
                break;
        }
        guard.reject(ctx.channel(), label, RejectReason.PROTOCOL_VIOLATION, "peer sent " + reply.getBodyCase()
                + (handshaken ? " on a connection it did not dial" : " before answering our hello"));
    }

    private void onHandshaken(ChannelHandlerContext ctx) {
        handshaken = true;
        handshakeTimeout.cancel(false);
        Envelope ping = Handshake.ping(config.nodeId(), link.peerId());
        long every = config.keepAliveIntervalMillis();
        keepAlive = ctx.executor().scheduleAtFixedRate(() -> ctx.writeAndFlush(ping, ctx.voidPromise()), every,
                every, TimeUnit.MILLISECONDS);
        link.onHandshaken(ctx.channel());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (handshaken && ctx.channel().isWritable()) {
            link.drain();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof IdleStateEvent) {
            guard.reject(ctx.channel(), label, RejectReason.IDLE_TIMEOUT,
                    "no reply to pings for " + config.idleTimeoutMillis() + " ms");
        } else {
            ctx.fireUserEventTriggered(event);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (handshakeTimeout != null) {
            handshakeTimeout.cancel(false);
        }
        if (keepAlive != null) {
            keepAlive.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        guard.onException(ctx.channel(), label, cause);
    }
}
