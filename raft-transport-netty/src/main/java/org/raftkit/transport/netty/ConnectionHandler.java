package org.raftkit.transport.netty;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.timeout.IdleStateEvent;

import org.raftkit.transport.netty.wire.Envelope;

/**
 * What both ends of a connection do alike: parse each frame into an {@link Envelope}, give the
 * handshake {@code handshakeTimeoutMillis}, close the connection when nothing was read for
 * {@code idleTimeoutMillis}, and send every piece of bad input to the {@link ConnectionGuard}.
 * {@link InboundConnectionHandler} (the acceptor) and {@link OutboundConnectionHandler} (the
 * dialer) add what each side does with an envelope.
 *
 * <p>One instance per connection, on the connection's event loop.
 */
abstract class ConnectionHandler extends SimpleChannelInboundHandler<ByteBuf> {

    final NettyTransportConfig config;
    final ConnectionGuard guard;
    /** How log lines name this connection: "from /127.0.0.1:53422", "to n2 at /127.0.0.1:7002". */
    String label;

    private ScheduledFuture<?> handshakeTimeout;

    ConnectionHandler(NettyTransportConfig config, ConnectionGuard guard, String label) {
        this.config = config;
        this.guard = guard;
        this.label = label;
    }

    /** Handles one envelope; throws for bad content, which the guard then tolerates or rejects. */
    abstract void onEnvelope(ChannelHandlerContext ctx, Envelope envelope, int frameBytes) throws WireFormatException;

    /** What the handshake timer says when it fires: who failed to do what. */
    abstract String handshakeOverdue(long timeoutMillis);

    /** The handshake succeeded: the timer stops. */
    final void handshakeDone() {
        handshakeTimeout.cancel(false);
    }

    /** Called after the timer is set; the dialer sends its Hello here. */
    void onActive(ChannelHandlerContext ctx) {
    }

    /** Called as the connection ends, after the handshake timer is cancelled. */
    void onInactive() {
    }

    @Override
    public final void channelActive(ChannelHandlerContext ctx) {
        long timeout = config.handshakeTimeoutMillis();
        handshakeTimeout = ctx.executor().schedule(() -> guard.reject(ctx.channel(), label,
                RejectReason.HANDSHAKE_TIMEOUT, handshakeOverdue(timeout)), timeout, TimeUnit.MILLISECONDS);
        onActive(ctx);
        ctx.fireChannelActive();
    }

    @Override
    protected final void channelRead0(ChannelHandlerContext ctx, ByteBuf body) {
        int frameBytes = Frames.LENGTH_PREFIX_BYTES + body.readableBytes();
        try {
            onEnvelope(ctx, Frames.parse(body), frameBytes);
        } catch (WireFormatException e) {
            guard.handle(ctx.channel(), label, e);
        }
    }

    @Override
    public final void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof IdleStateEvent) {
            guard.reject(ctx.channel(), label, RejectReason.IDLE_TIMEOUT,
                    "nothing read for " + config.idleTimeoutMillis() + " ms");
        } else {
            ctx.fireUserEventTriggered(event);
        }
    }

    @Override
    public final void channelInactive(ChannelHandlerContext ctx) {
        if (handshakeTimeout != null) {
            handshakeTimeout.cancel(false);
        }
        onInactive();
        ctx.fireChannelInactive();
    }

    @Override
    public final void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        guard.onException(ctx.channel(), label, cause);
    }
}
