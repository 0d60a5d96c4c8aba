package org.raftkit.transport.netty;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The live counters behind {@link TransportStats}. Updated from any thread without locks (the
 * event loops and the callers of {@code send}); read by {@link #snapshot}.
 */
final class Counters {

    private final LongAdder messagesSent = new LongAdder();
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder messagesReceived = new LongAdder();
    private final LongAdder bytesReceived = new LongAdder();
    private final EnumMap<DropReason, LongAdder> dropped = adders(DropReason.class);
    private final EnumMap<RejectReason, LongAdder> rejected = adders(RejectReason.class);

    void sent(int frameBytes) {
        messagesSent.increment();
        bytesSent.add(frameBytes);
    }

    void received(int frameBytes) {
        messagesReceived.increment();
        bytesReceived.add(frameBytes);
    }

    void dropped(DropReason reason) {
        dropped.get(reason).increment();
    }

    void dropped(DropReason reason, int count) {
        dropped.get(reason).add(count);
    }

    void rejected(RejectReason reason) {
        rejected.get(reason).increment();
    }

    TransportStats snapshot(Map<String, Long> queuedOutboundBytes, Map<String, Boolean> connectedPeers,
                            InboundLimits limits) {
        return new TransportStats(messagesSent.sum(), bytesSent.sum(), messagesReceived.sum(), bytesReceived.sum(),
                sums(dropped), sums(rejected), queuedOutboundBytes, connectedPeers, limits.pendingHandshakes(),
                limits.bufferedBytes());
    }

    private static <E extends Enum<E>> EnumMap<E, LongAdder> adders(Class<E> type) {
        EnumMap<E, LongAdder> map = new EnumMap<>(type);
        for (E e : type.getEnumConstants()) {
            map.put(e, new LongAdder());
        }
        return map;
    }

    private static <E extends Enum<E>> Map<E, Long> sums(EnumMap<E, LongAdder> adders) {
        EnumMap<E, Long> out = new EnumMap<>(adders.keySet().iterator().next().getDeclaringClass());
        adders.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
}
