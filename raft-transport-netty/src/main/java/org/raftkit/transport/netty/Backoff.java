package org.raftkit.transport.netty;

import java.util.random.RandomGenerator;

/**
 * Delays between reconnection attempts to one peer: capped exponential backoff with jitter. The
 * n-th consecutive failure waits a random time in [cap/2, cap] where cap = min(max, min * 2^n), so
 * nodes that lost a peer at the same moment do not all redial it in step.
 *
 * <p>Confined to the peer's event loop; not thread-safe.
 */
final class Backoff {

    private final long minMillis;
    private final long maxMillis;
    private final RandomGenerator random;
    private int failures;

    Backoff(long minMillis, long maxMillis, RandomGenerator random) {
        this.minMillis = minMillis;
        this.maxMillis = maxMillis;
        this.random = random;
    }

    /** The delay before the next attempt; each call counts one more failure. */
    long nextDelayMillis() {
        long cap = maxMillis;
        if (failures < 62 && minMillis <= (maxMillis >> failures)) {
            cap = Math.min(maxMillis, minMillis << failures);
        }
        failures++;
        long half = cap / 2;
        return half + random.nextLong(cap - half + 1);
    }

    /** A connection succeeded: start again from the minimum. */
    void reset() {
        failures = 0;
    }
}
