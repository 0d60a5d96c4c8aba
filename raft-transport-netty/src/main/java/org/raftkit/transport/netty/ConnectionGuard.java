package org.raftkit.transport.netty;

import java.io.IOException;

import javax.net.ssl.SSLException;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.DecoderException;
import io.netty.util.AttributeKey;

import org.raftkit.transport.netty.wire.Envelope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where bad input from a connection ends: counted by {@link RejectReason}, logged, and (unless a
 * newer peer may legitimately send it) the connection closed. Other connections and the node are
 * never affected.
 *
 * <p>Closing rejections log at most one WARN line per connection, in one shape:
 * {@code n1 closed connection from /127.0.0.1:53422: WRONG_CLUSTER (cluster id "x" is not "raft-kv")},
 * and at most one a second per reason ({@link RejectionLog}); every one is counted. Strings a peer
 * sent appear only through {@link PeerText#quote}. Called on event loop threads; thread-safe.
 */
final class ConnectionGuard {

    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);
    private static final AttributeKey<Boolean> CLOSED_FOR_CAUSE = AttributeKey.valueOf("raftkit.closedForCause");

    private final String nodeId;
    private final Counters counters;
    private final RejectionLog rejections;

    ConnectionGuard(String nodeId, Counters counters) {
        this.nodeId = nodeId;
        this.counters = counters;
        this.rejections = new RejectionLog(nodeId);
    }

    /** Counts, logs one WARN line naming {@code label} (e.g. "from /127.0.0.1:53422") and closes. Once per channel. */
    void reject(Channel ch, String label, RejectReason reason, String detail) {
        reject(ch, label, reason, detail, null);
    }

    /** As {@link #reject(Channel, String, RejectReason, String)}, writing {@code lastWords} (a HelloReject) before closing. */
    void reject(Channel ch, String label, RejectReason reason, String detail, Envelope lastWords) {
        if (ch.attr(CLOSED_FOR_CAUSE).setIfAbsent(Boolean.TRUE) != null) {
            return;
        }
        counters.rejected(reason);
        rejections.closed(label, reason, detail);
        if (lastWords != null && ch.isActive()) {
            ch.writeAndFlush(lastWords).addListener(ChannelFutureListener.CLOSE);
        } else {
            ch.close();
        }
    }

    /** Counts input a newer peer may send and drops it; the connection stays open. */
    void tolerate(String label, WireFormatException e) {
        counters.rejected(e.reason());
        LOG.debug("{} dropped a message {}: {} ({})", nodeId, label, e.reason(), e.getMessage());
    }

    /** A WireFormatException, tolerated or rejected as its reason says. */
    void handle(Channel ch, String label, WireFormatException e) {
        if (e.tolerable()) {
            tolerate(label, e);
        } else {
            reject(ch, label, e.reason(), e.getMessage());
        }
    }

    /**
     * An exception from a connection's pipeline: bad input from the frame decoder is rejected; a
     * TLS error before the TLS handshake completed is a refused peer; an I/O error (the peer reset
     * or vanished) closes quietly, since peers restart all the time; anything else is a bug here,
     * logged with its stack and the connection closed.
     */
    void onException(Channel ch, String label, Throwable cause, boolean tlsPending) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof WireFormatException) {
            reject(ch, label, ((WireFormatException) c).reason(), c.getMessage());
        } else if (c instanceof SSLException && tlsPending) {
            reject(ch, label, RejectReason.TLS_HANDSHAKE_FAILED, tlsFailure(c));
        } else if (c instanceof IOException) {
            LOG.debug("{} lost connection {}: {}", nodeId, label, c.toString());
            ch.close();
        } else if (ch.attr(CLOSED_FOR_CAUSE).setIfAbsent(Boolean.TRUE) == null) {
            LOG.warn("{} closed connection {} after an unexpected error", nodeId, label, c);
            ch.close();
        }
    }

    /** Why a TLS handshake failed, in one line: the JDK's messages name the check that failed. */
    static String tlsFailure(Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String top = oneLine(cause);
        return PeerText.escape(root == cause ? top : top + " / " + oneLine(root), 300);
    }

    private static String oneLine(Throwable t) {
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": "
                + t.getMessage();
    }
}
