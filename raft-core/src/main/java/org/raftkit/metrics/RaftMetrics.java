package org.raftkit.metrics;

import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Where a node reports what it does: counters, gauges and distributions (latencies, batch sizes).
 * RaftKit ships {@link #NONE} (the default) and {@link JmxMetrics}; an application binds its own
 * metrics library by implementing this interface (the KV example binds Micrometer). Names and units
 * are listed in docs/OPERATIONS.md ("Metrics").
 *
 * <p><b>Registration</b>: the four methods are called while a server is built and started, on the
 * thread that builds it, once per metric and tag set. They may take locks and allocate; they must
 * not throw for a name seen before with other tags (per-peer metrics share a name).
 *
 * <p><b>Recording</b>: the returned {@link Counter} and {@link Distribution} are called on the
 * node's own threads (Raft, storage, apply) and on callers' threads, concurrently, on the hot
 * path: they must be thread-safe, must not block and should not allocate. Gauge and function
 * counter suppliers are called by the metrics library whenever it reads them, on its own thread;
 * they only read volatile fields and never block. Nothing here may throw: a broken binding must not
 * stop a node, so the runtime does not guard these calls.
 *
 * <p>Names use dots ({@code raftkit.commit.latency}); a binding translates them to its own
 * convention (Prometheus: {@code raftkit_commit_latency_seconds}). Every metric carries the tag
 * {@code node} (this node's id); per-follower metrics also carry {@code peer}.
 */
public interface RaftMetrics {

    /** What a gauge's or distribution's values count. */
    enum Unit {
        /** A plain number (an index, a term, a count of things). */
        NONE,
        /** A duration in nanoseconds; a binding may convert it to its base time unit. */
        NANOSECONDS,
        /** Log entries. */
        ENTRIES,
        /** Bytes. */
        BYTES
    }

    /** A count that only goes up. */
    @FunctionalInterface
    interface Counter {
        /** Adds {@code amount} (≥ 0). */
        void increment(long amount);
    }

    /** A stream of values (latencies in nanoseconds, batch sizes) summarised as a histogram. */
    @FunctionalInterface
    interface Distribution {
        /** Records one value in the distribution's unit. */
        void record(long value);
    }

    /** A counter the runtime increments. */
    Counter counter(String name, String description, Map<String, String> tags);

    /** A counter whose total is kept elsewhere and read through {@code total} (transport statistics). */
    void counter(String name, String description, Map<String, String> tags, LongSupplier total);

    /** A value that goes up and down, read through {@code value} when the library samples it. */
    void gauge(String name, Unit unit, String description, Map<String, String> tags, LongSupplier value);

    /** A histogram of recorded values. */
    Distribution distribution(String name, Unit unit, String description, Map<String, String> tags);

    /** Records nothing. The default of {@code RaftServer.builder().metrics(…)}. */
    RaftMetrics NONE = new RaftMetrics() {
        @Override
        public Counter counter(String name, String description, Map<String, String> tags) {
            return amount -> {
            };
        }

        @Override
        public void counter(String name, String description, Map<String, String> tags, LongSupplier total) {
        }

        @Override
        public void gauge(String name, Unit unit, String description, Map<String, String> tags, LongSupplier value) {
        }

        @Override
        public Distribution distribution(String name, Unit unit, String description, Map<String, String> tags) {
            return value -> {
            };
        }
    };
}
