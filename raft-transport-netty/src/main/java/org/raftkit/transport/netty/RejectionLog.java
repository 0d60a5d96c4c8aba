package org.raftkit.transport.netty;

import java.util.EnumMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WARN lines of {@link ConnectionGuard}, at most one per {@link RejectReason} per
 * {@link #INTERVAL_MILLIS}: an attacker opening thousands of bad connections a second costs the
 * log one line a second per kind of badness, not one per connection. The rejections in between
 * are still counted in {@link TransportStats#rejected()}, and the next line logged for that
 * reason says how many were not logged. Thread-safe, lock-free; any thread.
 */
final class RejectionLog {

    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);

    /** Least time between two WARN lines of the same reason. */
    static final long INTERVAL_MILLIS = 1_000;

    private final String nodeId;
    private final EnumMap<RejectReason, Window> windows = new EnumMap<>(RejectReason.class);

    RejectionLog(String nodeId) {
        this.nodeId = nodeId;
        for (RejectReason r : RejectReason.values()) {
            windows.put(r, new Window());
        }
    }

    /**
     * Logs {@code n1 closed connection <label>: <reason> (<detail>)} unless a line of this reason
     * was logged less than {@link #INTERVAL_MILLIS} ago. {@code label} and {@code detail} must
     * already have every peer-supplied string passed through {@link PeerText#quote}.
     */
    void closed(String label, RejectReason reason, String detail) {
        long suppressed = windows.get(reason).admit(System.nanoTime());
        if (suppressed < 0) {
            return;
        }
        if (suppressed == 0) {
            LOG.warn("{} closed connection {}: {} ({})", nodeId, label, reason, detail);
        } else {
            LOG.warn("{} closed connection {}: {} ({}); {} more {} rejections since the last such line were not logged",
                    nodeId, label, reason, detail, suppressed, reason);
        }
    }

    /** One reason's rate limit. */
    private static final class Window {
        /** When the next line may be logged, in System.nanoTime; starts "now or earlier". */
        private final AtomicLong nextNanos = new AtomicLong(System.nanoTime());
        private final AtomicLong suppressed = new AtomicLong();

        /** -1 if this line must not be logged (and counts it), else how many were not logged before it. */
        long admit(long now) {
            long next = nextNanos.get();
            long following = now + TimeUnit.MILLISECONDS.toNanos(INTERVAL_MILLIS);
            if (now - next >= 0 && nextNanos.compareAndSet(next, following)) {
                return suppressed.getAndSet(0);
            }
            suppressed.incrementAndGet();
            return -1;
        }
    }
}
