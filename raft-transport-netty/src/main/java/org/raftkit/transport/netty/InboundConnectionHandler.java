package org.raftkit.transport.netty;

import javax.net.ssl.SSLSession;

import io.netty.channel.ChannelHandlerContext;

import org.raftkit.message.Message;
import org.raftkit.spi.Transport.MessageHandler;
import org.raftkit.transport.netty.wire.Envelope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The acceptor's end of one connection a peer dialed: takes one of the transport's slots for
 * connections in their handshake, checks the peer's Hello (and, with TLS, that the peer's
 * certificate names the node id the Hello claims), answers pings, and hands each valid message to
 * Raft. Anything else is rejected through the {@link ConnectionGuard} and never reaches Raft.
 *
 * <p>One instance per connection, on the connection's event loop. {@link MessageHandler#onMessage}
 * is called on that event loop; the runtime's handler only enqueues, so nothing here blocks.
 */
final class InboundConnectionHandler extends ConnectionHandler {

    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);

    private final Counters counters;
    private final InboundLimits limits;
    private final MessageHandler handler;
    /** Whether this connection holds one of {@link InboundLimits}'s handshake slots. */
    private boolean holdsHandshakeSlot;

    /** The peer's node id once its Hello was accepted; null before. */
    private String peerId;
    private Envelope pong;
    /** Whether a node id is accepted in a handshake: a member of the configuration in use. */
    private final java.util.function.Predicate<String> isMember;

    InboundConnectionHandler(NettyTransportConfig config, Counters counters, ConnectionGuard guard,
                             InboundLimits limits, MessageHandler handler,
                             java.util.function.Predicate<String> isMember) {
        super(config, guard, "from an unknown address");
        this.isMember = isMember;
        this.counters = counters;
        this.limits = limits;
        this.handler = handler;
    }

    @Override
    boolean admit(ChannelHandlerContext ctx) {
        label = "from " + ctx.channel().remoteAddress();
        holdsHandshakeSlot = limits.tryBeginHandshake();
        if (!holdsHandshakeSlot) {
            guard.reject(ctx.channel(), label, RejectReason.TOO_MANY_HANDSHAKES,
                    config.maxPendingHandshakes() + " other connections are in their handshake");
        }
        return holdsHandshakeSlot;
    }

    @Override
    void onHandshakeDone() {
        releaseHandshakeSlot();
    }

    @Override
    void onInactive() {
        releaseHandshakeSlot();
    }

    private void releaseHandshakeSlot() {
        if (holdsHandshakeSlot) {
            holdsHandshakeSlot = false;
            limits.endHandshake();
        }
    }

    @Override
    String handshakeOverdue(long timeoutMillis) {
        return "no valid hello within " + timeoutMillis + " ms";
    }

    @Override
    void onEnvelope(ChannelHandlerContext ctx, Envelope envelope, int frameBytes) throws WireFormatException {
        if (peerId == null) {
            onHello(ctx, envelope);
        } else {
            onMessage(ctx, envelope, frameBytes);
        }
    }

    private void onHello(ChannelHandlerContext ctx, Envelope first) {
        Handshake.Refusal refusal = Handshake.check(first, config, isMember);
        if (refusal != null) {
            guard.reject(ctx.channel(), label, refusal.reason(), refusal.detail(),
                    Handshake.helloReject(config.nodeId(), refusal.reason().name()));
            return;
        }
        // With TLS, the certificate must speak for the node the Hello claims to be: a valid
        // certificate of n3 does not let its holder act as n2.
        SSLSession tls = tlsSession(ctx);
        if (tls != null && !TlsMaterial.peerIs(tls, config.clusterId(), first.getFrom())) {
            guard.reject(ctx.channel(), label, RejectReason.CERTIFICATE_MISMATCH, "hello claims "
                    + TlsConfig.nodeUri(config.clusterId(), first.getFrom()) + " but the certificate names "
                    + TlsMaterial.peerNames(tls), Handshake.helloReject(config.nodeId(),
                    RejectReason.CERTIFICATE_MISMATCH.name()));
            return;
        }
        handshakeDone(ctx);
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
            guard.reject(ctx.channel(), label, RejectReason.MISADDRESSED, "message from "
                    + PeerText.quote(envelope.getFrom()) + " to " + PeerText.quote(envelope.getTo()) + " on " + peerId
                    + "'s connection to " + config.nodeId());
            return;
        }
        Message m = MessageCodec.decode(envelope);
        counters.received(frameBytes);
        handler.onMessage(m);
    }
}
