package org.raftkit.runtime;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the calls in flight on one node, in count and in payload bytes
 * ({@code RaftConfig.maxPendingRequests} and {@code maxPendingBytes}). A call takes its share
 * before it is queued anywhere and gives it back when it finishes, so every queue that holds calls
 * is bounded by this. Thread-safe and lock-free.
 */
final class RequestBudget {

    private final int maxRequests;
    private final long maxBytes;
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicLong bytes = new AtomicLong();

    RequestBudget(int maxRequests, long maxBytes) {
        this.maxRequests = maxRequests;
        this.maxBytes = maxBytes;
    }

    /** Takes a share for one call of {@code payloadBytes}; false (and nothing taken) if over a limit. */
    boolean tryAcquire(long payloadBytes) {
        if (requests.incrementAndGet() > maxRequests) {
            requests.decrementAndGet();
            return false;
        }
        if (bytes.addAndGet(payloadBytes) > maxBytes) {
            bytes.addAndGet(-payloadBytes);
            requests.decrementAndGet();
            return false;
        }
        return true;
    }

    /** Gives back one call's share. */
    void release(long payloadBytes) {
        bytes.addAndGet(-payloadBytes);
        requests.decrementAndGet();
    }

    int requests() {
        return requests.get();
    }

    long bytes() {
        return bytes.get();
    }

    int maxRequests() {
        return maxRequests;
    }

    long maxBytes() {
        return maxBytes;
    }
}
