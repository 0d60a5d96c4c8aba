package org.raftkit.transport.netty;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLSession;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;

import org.raftkit.transport.netty.wire.Envelope;

/**
 * The dialer's end of one connection to a peer: with TLS, checks that the peer's certificate names
 * the node this link meant to reach before saying anything; sends the Hello, waits for the peer's answer, then
 * hands the connection to its {@link PeerLink} and pings it every {@code keepAliveIntervalMillis}.
 * The peer only ever answers (HelloAck or HelloReject, then Pongs); anything else it sends is a
 * protocol violation. When the socket becomes writable again, the link writes what it queued.
 *
 * <p>One instance per connection, on the peer's event loop.
 */
final class OutboundConnectionHandler extends ConnectionHandler {

    private final PeerLink link;

    private ScheduledFuture<?> keepAlive;
    private boolean handshaken;

    OutboundConnectionHandler(PeerLink link, NettyTransportConfig config, ConnectionGuard guard, String label) {
        super(config, guard, label);
        this.link = link;
    }

    @Override
    boolean onTlsEstablished(ChannelHandlerContext ctx, SSLSession session) {
        if (TlsMaterial.peerIs(session, config.clusterId(), link.peerId())) {
            return true;
        }
        guard.reject(ctx.channel(), label, RejectReason.CERTIFICATE_MISMATCH, "expected "
                + TlsConfig.nodeUri(config.clusterId(), link.peerId()) + " but the certificate names "
                + TlsMaterial.peerNames(session));
        return false;
    }

    @Override
    void onReady(ChannelHandlerContext ctx) {
        ctx.writeAndFlush(Handshake.hello(config.clusterId(), config.nodeId(), link.peerId()))
                .addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    }

    @Override
    String handshakeOverdue(long timeoutMillis) {
        return "no answer to hello within " + timeoutMillis + " ms";
    }

    @Override
    void onEnvelope(ChannelHandlerContext ctx, Envelope reply, int frameBytes) throws WireFormatException {
        switch (reply.getBodyCase()) {
            case HELLO_ACK:
                if (handshaken) {
                    break;
                }
                if (!reply.getFrom().equals(link.peerId())) {
                    guard.reject(ctx.channel(), label, RejectReason.REFUSED_BY_PEER,
                            "the node at this address is " + PeerText.quote(reply.getFrom()) + ", not "
                                    + link.peerId());
                    return;
                }
                if (reply.getHelloAck().getProtocolVersion() < Handshake.MIN_PROTOCOL_VERSION) {
                    guard.reject(ctx.channel(), label, RejectReason.UNSUPPORTED_VERSION, link.peerId()
                            + " speaks protocol version " + reply.getHelloAck().getProtocolVersion() + ", older than "
                            + Handshake.MIN_PROTOCOL_VERSION + ": upgrade that node");
                    return;
                }
                onHandshaken(ctx);
                return;
            case HELLO_REJECT:
                guard.reject(ctx.channel(), label, RejectReason.REFUSED_BY_PEER,
                        "peer refused our hello: " + PeerText.quote(reply.getHelloReject().getReason()));
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
        handshakeDone(ctx);
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
    void onInactive() {
        if (keepAlive != null) {
            keepAlive.cancel(false);
        }
    }
}
