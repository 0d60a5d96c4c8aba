package org.raftkit.metrics;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A lock-free histogram with one bucket per power of two: enough to tell a 200 µs fsync from a
 * 20 ms one, at 64 counters per metric. Quantiles are the upper bound of the bucket they fall in,
 * so they over-state by at most a factor of two. Any thread may record and read.
 */
final class Log2Histogram implements RaftMetrics.Distribution {

    private final AtomicLongArray buckets = new AtomicLongArray(64);
    private final LongAdder count = new LongAdder();
    private final LongAdder sum = new LongAdder();
    private volatile long max;

    @Override
    public void record(long value) {
        long v = Math.max(0, value);
        buckets.incrementAndGet(64 - Long.numberOfLeadingZeros(v));
        count.increment();
        sum.add(v);
        if (v > max) {
            max = v; // a racing larger value may be lost for one sample; the next one fixes it
        }
    }

    long count() {
        return count.sum();
    }

    long sum() {
        return sum.sum();
    }

    long max() {
        return max;
    }

    /** The smallest power of two that at least a {@code q} share of the values do not exceed; 0 if empty. */
    long quantile(double q) {
        long total = 0;
        long[] snapshot = new long[buckets.length()];
        for (int i = 0; i < snapshot.length; i++) {
            snapshot[i] = buckets.get(i);
            total += snapshot[i];
        }
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(q * total);
        long seen = 0;
        for (int i = 0; i < snapshot.length; i++) {
            seen += snapshot[i];
            if (seen >= rank) {
                return i >= 63 ? Long.MAX_VALUE : (1L << i) - 1;
            }
        }
        return max;
    }
}
