package org.raftkit.transport.netty;

import java.util.Map;

import org.raftkit.metrics.RaftMetrics;
import org.raftkit.metrics.RaftMetrics.Unit;

/**
 * Reports a {@link NettyTransport}'s {@link TransportStats} through {@link RaftMetrics}: messages and
 * bytes each way, drops and refusals by reason, and per peer the queued bytes and whether a
 * connection is up. Every value is read from {@link NettyTransport#stats()} when the metrics library
 * samples it; nothing is added to the transport's hot path. Reconnects are not counted by the
 * transport; {@code raftkit.transport.connected} going 1 → 0 → 1 shows them.
 */
public final class NettyTransportMetrics {

    private NettyTransportMetrics() {
    }

    /** Registers the metrics of {@code transport}, which belongs to node {@code nodeId}. Call once, before it runs. */
    public static void register(RaftMetrics metrics, String nodeId, NettyTransport transport) {
        Map<String, String> node = Map.of("node", nodeId);
        metrics.counter("raftkit.transport.messages.sent", "messages written to peers", node,
                () -> transport.stats().messagesSent());
        metrics.counter("raftkit.transport.bytes.sent", "bytes of those messages, length prefix included", node,
                () -> transport.stats().bytesSent());
        metrics.counter("raftkit.transport.messages.received", "messages received and handed to Raft", node,
                () -> transport.stats().messagesReceived());
        metrics.counter("raftkit.transport.bytes.received", "bytes of those messages, length prefix included", node,
                () -> transport.stats().bytesReceived());
        for (DropReason reason : DropReason.values()) {
            metrics.counter("raftkit.transport.dropped", "outbound messages dropped (Raft resends)",
                    Map.of("node", nodeId, "reason", reason.name().toLowerCase(java.util.Locale.ROOT)),
                    () -> transport.stats().dropped(reason));
        }
        for (RejectReason reason : RejectReason.values()) {
            metrics.counter("raftkit.transport.rejected", "inbound connections or frames refused",
                    Map.of("node", nodeId, "reason", reason.name().toLowerCase(java.util.Locale.ROOT)),
                    () -> transport.stats().rejected(reason));
        }
        for (String peer : transport.config().peers().keySet()) {
            if (peer.equals(nodeId)) {
                continue;
            }
            Map<String, String> tags = Map.of("node", nodeId, "peer", peer);
            metrics.gauge("raftkit.transport.queued", Unit.BYTES, "message bytes queued for the peer", tags,
                    () -> transport.stats().queuedOutboundBytes().getOrDefault(peer, 0L));
            metrics.gauge("raftkit.transport.connected", Unit.NONE, "1 while a connection to the peer is up", tags,
                    () -> Boolean.TRUE.equals(transport.stats().connectedPeers().get(peer)) ? 1 : 0);
        }
    }
}
