package org.raftkit.transport.netty;

import java.util.Map;

/**
 * A snapshot of a {@link NettyTransport}'s counters since it was created, from
 * {@link NettyTransport#stats()}. Counts are of messages handed to or received from Raft (the
 * handshake and keep-alive frames are not counted); bytes include the 4-byte length prefix.
 *
 * @param messagesSent          messages written to a peer's connection
 * @param bytesSent             bytes of those messages
 * @param messagesReceived      messages handed to Raft
 * @param bytesReceived         bytes of those messages
 * @param dropped               outbound messages dropped, by reason; every reason present, zero or not
 * @param rejected              inbound input refused, by reason; every reason present, zero or not
 * @param queuedOutboundBytes   per peer id: message bytes queued now and not yet handed to the socket
 * @param connectedPeers        per peer id: whether a handshaken outbound connection exists now
 * @param pendingHandshakes     accepted connections in their handshake now (at most {@code maxPendingHandshakes})
 * @param inboundBufferedBytes  bytes the frame decoders hold now, waiting for the rest of a frame
 *                              (at most {@code maxInboundBufferedBytes})
 */
public record TransportStats(long messagesSent, long bytesSent, long messagesReceived, long bytesReceived,
                             Map<DropReason, Long> dropped, Map<RejectReason, Long> rejected,
                             Map<String, Long> queuedOutboundBytes, Map<String, Boolean> connectedPeers,
                             int pendingHandshakes, long inboundBufferedBytes) {

    public TransportStats {
        dropped = Map.copyOf(dropped);
        rejected = Map.copyOf(rejected);
        queuedOutboundBytes = Map.copyOf(queuedOutboundBytes);
        connectedPeers = Map.copyOf(connectedPeers);
    }

    /** Outbound messages dropped for {@code reason}. */
    public long dropped(DropReason reason) {
        return dropped.getOrDefault(reason, 0L);
    }

    /** Inbound input refused for {@code reason}. */
    public long rejected(RejectReason reason) {
        return rejected.getOrDefault(reason, 0L);
    }

    /** Outbound messages dropped for any reason. */
    public long droppedTotal() {
        return dropped.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Inbound input refused for any reason. */
    public long rejectedTotal() {
        return rejected.values().stream().mapToLong(Long::longValue).sum();
    }
}
