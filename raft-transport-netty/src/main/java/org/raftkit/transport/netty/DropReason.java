package org.raftkit.transport.netty;

/**
 * Why {@link NettyTransport#send} dropped an outbound message. Raft retries or supersedes every
 * message, so a drop costs time, never safety. Counted in {@link TransportStats#dropped()}.
 */
public enum DropReason {
    /** The target is not one of the configured peers (or is this node itself). */
    UNKNOWN_PEER,
    /** There is no handshaken connection to the target right now (starting, reconnecting, peer down). */
    NOT_CONNECTED,
    /** The target's outbound lane already holds its share of {@code maxOutboundBytesPerPeer}. */
    OUTBOUND_FULL,
    /** The encoded message would exceed {@code maxFrameBytes}; the peer would reject it. */
    FRAME_TOO_LARGE,
    /** The message was queued, but the connection was lost before it was written. */
    DISCONNECTED,
    /** The transport was closed (or not yet started). */
    CLOSED
}
