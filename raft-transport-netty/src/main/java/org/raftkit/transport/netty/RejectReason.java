package org.raftkit.transport.netty;

/**
 * Why a {@link NettyTransport} refused input from a connection. Counted in
 * {@link TransportStats#rejected()}. Every reason except {@link #UNKNOWN_MESSAGE} and
 * {@link #UNSUPPORTED_CONTENT} closes the connection with one WARN line naming the remote address;
 * nothing rejected ever reaches Raft.
 */
public enum RejectReason {
    /** A length prefix above {@code maxFrameBytes}, or negative. Checked before any buffer is sized for it. */
    FRAME_TOO_LARGE,
    /** The connection ended in the middle of a frame. */
    TRUNCATED_FRAME,
    /** A frame whose body is not a valid envelope, or a message with invalid fields. */
    MALFORMED_FRAME,
    /** The first frame was not a {@code Hello}, or a handshake message came after the handshake. */
    PROTOCOL_VIOLATION,
    /** The peer (dialer or acceptor) speaks a protocol version older than this node supports. */
    UNSUPPORTED_VERSION,
    /** The dialer belongs to another cluster. */
    WRONG_CLUSTER,
    /** The dialer's node id is not a configured peer. */
    UNKNOWN_NODE,
    /** A hello or message addressed to another node, or sent in another node's name. */
    MISADDRESSED,
    /** The dialer did not complete the handshake within {@code handshakeTimeoutMillis}. */
    HANDSHAKE_TIMEOUT,
    /** Nothing was read from the connection for {@code idleTimeoutMillis}. */
    IDLE_TIMEOUT,
    /** A peer we dialed refused our hello, or answered as another node. */
    REFUSED_BY_PEER,
    /**
     * TLS is on and the TLS handshake failed: no certificate, one from another CA, an expired
     * one, or no TLS at all. Nothing the peer sent reached the frame decoder.
     */
    TLS_HANDSHAKE_FAILED,
    /**
     * TLS is on and the peer's (valid) certificate does not name the node id it claims in its
     * Hello, or, on a dialed connection, the node this node meant to reach.
     */
    CERTIFICATE_MISMATCH,
    /** An accepted connection arrived while {@code maxPendingHandshakes} others were in their handshake. */
    TOO_MANY_HANDSHAKES,
    /** Taking a connection's bytes would have put the transport above {@code maxInboundBufferedBytes}. */
    INBOUND_MEMORY_FULL,
    /**
     * An envelope with no body this node knows: a newer peer's message type. Counted and dropped;
     * the connection stays open.
     */
    UNKNOWN_MESSAGE,
    /**
     * A known message carrying a value this node cannot represent (an enum value from a newer
     * peer). Counted and dropped; the connection stays open.
     */
    UNSUPPORTED_CONTENT
}
