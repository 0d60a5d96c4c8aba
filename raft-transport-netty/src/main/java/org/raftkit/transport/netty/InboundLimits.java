package org.raftkit.transport.netty;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What all of a transport's connections share of the node's resources: how many accepted
 * connections may be in their handshake at once ({@code maxPendingHandshakes}), and how many bytes
 * the frame decoders may hold between them, waiting for the rest of a frame
 * ({@code maxInboundBufferedBytes}). Without these, sixty connections each sending most of an
 * 8 MiB frame and then nothing would cost 480 MiB. Thread-safe, lock-free; called on the event
 * loops.
 */
final class InboundLimits {

    private final int maxPendingHandshakes;
    private final long maxBufferedBytes;
    private final AtomicInteger pendingHandshakes = new AtomicInteger();
    private final AtomicLong bufferedBytes = new AtomicLong();

    InboundLimits(int maxPendingHandshakes, long maxBufferedBytes) {
        this.maxPendingHandshakes = maxPendingHandshakes;
        this.maxBufferedBytes = maxBufferedBytes;
    }

    /**
     * Takes a handshake slot for a new accepted connection; false when all are taken. Two racing
     * callers may both be refused for the last slot: on the safe side, and a real peer redials.
     */
    boolean tryBeginHandshake() {
        if (pendingHandshakes.incrementAndGet() > maxPendingHandshakes) {
            pendingHandshakes.decrementAndGet();
            return false;
        }
        return true;
    }

    /** Gives back a slot taken by {@link #tryBeginHandshake}: the handshake succeeded or the connection ended. */
    void endHandshake() {
        pendingHandshakes.decrementAndGet();
    }

    /**
     * Changes the bytes one decoder holds by {@code delta}; false (and no change) if growing them
     * would pass the limit. Shrinking always succeeds.
     */
    boolean tryBuffer(long delta) {
        if (bufferedBytes.addAndGet(delta) > maxBufferedBytes && delta > 0) {
            bufferedBytes.addAndGet(-delta);
            return false;
        }
        return true;
    }

    /** Accepted connections in their handshake now. */
    int pendingHandshakes() {
        return pendingHandshakes.get();
    }

    /** Bytes the decoders hold now. */
    long bufferedBytes() {
        return bufferedBytes.get();
    }
}
