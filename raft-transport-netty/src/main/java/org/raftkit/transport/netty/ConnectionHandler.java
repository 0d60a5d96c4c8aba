package org.raftkit.transport.netty;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLSession;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;

import org.raftkit.transport.netty.wire.Envelope;

/**
 * What both ends of a connection do alike: wait for TLS (when on), parse each frame into an
 * {@link Envelope}, give the whole handshake (TLS and Hello) {@code handshakeTimeoutMillis}, close
 * the connection when no frame was read for {@code idleTimeoutMillis}, and send every piece of bad
 * input to the {@link ConnectionGuard}. {@link InboundConnectionHandler} (the acceptor) and
 * {@link OutboundConnectionHandler} (the dialer) add what each side does with an envelope.
 *
 * <p>One instance per connection, on the connection's event loop.
 */
abstract class ConnectionHandler extends SimpleChannelInboundHandler<ByteBuf> {

    final NettyTransportConfig config;
    final ConnectionGuard guard;
    /** How log lines name this connection: "from /127.0.0.1:53422", "to n2 at /127.0.0.1:7002". */
    String label;

    private ScheduledFuture<?> handshakeTimeout;
    /** True while TLS is on and its handshake has not succeeded: no frame can have arrived yet. */
    private boolean tlsPending;

    ConnectionHandler(NettyTransportConfig config, ConnectionGuard guard, String label) {
        this.config = config;
        this.guard = guard;
        this.label = label;
    }

    /** Handles one envelope; throws for bad content, which the guard then tolerates or rejects. */
    abstract void onEnvelope(ChannelHandlerContext ctx, Envelope envelope, int frameBytes) throws WireFormatException;

    /** What the handshake timer says when it fires: who failed to do what. */
    abstract String handshakeOverdue(long timeoutMillis);

    /**
     * Called first as the connection opens, after the handshake timer is set; false if the
     * connection was refused here (the acceptor's cap on connections in their handshake).
     */
    boolean admit(ChannelHandlerContext ctx) {
        return true;
    }

    /**
     * TLS is on and its handshake succeeded; the peer's certificate chain is trusted. Returns false
     * if the connection was refused here (the dialer: the certificate names another node).
     */
    boolean onTlsEstablished(ChannelHandlerContext ctx, SSLSession session) {
        return true;
    }

    /** The connection may carry the Hello: at once in plaintext, after TLS otherwise. The dialer sends it here. */
    void onReady(ChannelHandlerContext ctx) {
    }

    /** Called once as the Hello handshake succeeds, after the timer is stopped. */
    void onHandshakeDone() {
    }

    /** Called as the connection ends, after the handshake timer is cancelled. */
    void onInactive() {
    }

    /** The handshake succeeded: the timer stops and full-size frames are accepted. */
    final void handshakeDone(ChannelHandlerContext ctx) {
        handshakeTimeout.cancel(false);
        ctx.pipeline().get(FrameDecoder.class).handshakeDone();
        onHandshakeDone();
    }

    /** The TLS session of this connection, or null in plaintext. */
    final SSLSession tlsSession(ChannelHandlerContext ctx) {
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        return tls == null ? null : tls.engine().getSession();
    }

    @Override
    public final void channelActive(ChannelHandlerContext ctx) {
        long timeout = config.handshakeTimeoutMillis();
        handshakeTimeout = ctx.executor().schedule(() -> guard.reject(ctx.channel(), label,
                RejectReason.HANDSHAKE_TIMEOUT, handshakeOverdue(timeout)), timeout, TimeUnit.MILLISECONDS);
        if (!admit(ctx)) {
            return;
        }
        tlsPending = ctx.pipeline().get(SslHandler.class) != null;
        if (!tlsPending) {
            onReady(ctx);
        }
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
                    "no frame read for " + config.idleTimeoutMillis() + " ms");
        } else if (event instanceof SslHandshakeCompletionEvent tls) {
            if (!tls.isSuccess()) {
                guard.reject(ctx.channel(), label, RejectReason.TLS_HANDSHAKE_FAILED,
                        ConnectionGuard.tlsFailure(tls.cause()));
            } else if (onTlsEstablished(ctx, tlsSession(ctx))) {
                tlsPending = false;
                onReady(ctx);
            }
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
        guard.onException(ctx.channel(), label, cause, tlsPending);
    }
}
