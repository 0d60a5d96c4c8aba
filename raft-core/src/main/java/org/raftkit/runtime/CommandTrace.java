package org.raftkit.runtime;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.LongSupplier;

import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;

/**
 * Where a write's time goes on its leader (docs/BENCHMARKS.md, "Where the time goes"): one in
 * every {@code every} writes submitted on this node is stamped with the scheduler's clock as it
 * passes each {@link Stage}, and {@link #summary()} gives each stage's percentiles as the time since
 * the write was submitted.
 *
 * <p>Off unless the JVM is started with {@code -Draftkit.trace.every=N} ({@link #fromSystemProperties});
 * when off the runtime holds no trace at all, and every hook is one null check
 * ({@code if (trace != null)}) or one null field on the {@link Request}. The pure core knows
 * nothing of it: the stamps are taken by the runtime's loops, around the core.
 *
 * <p>Only writes submitted on this node while it leads are summarised; a write forwarded to
 * another leader passes its stages there, and is left out. Stages that happen in parallel (the leader's own fsync and the followers'
 * acknowledgements) are both kept; the commit follows whichever makes a majority. A leader's own
 * fsync may finish after the write was committed by its followers and answered: that sample then
 * has no {@link Stage#SYNCED} stamp (the summary's {@code n} for that stage is smaller).
 *
 * <p>Threads: {@link #start} on the caller's thread; {@link Sample#proposed}, {@link #sent},
 * {@link #acknowledged} and {@link #committed} on the Raft loop; {@link #synced} on the storage
 * loop; {@link Sample#applied} and {@link Sample#replied} on whichever thread completes the call. The open samples are in a
 * concurrent map; each stamp is written once, by one thread, and {@link #summary()} is read once
 * the loops have stopped (or tolerates a stamp it does not see yet, reading it as missing).
 */
final class CommandTrace {

    /** The stages, in the order a write on the leader usually passes them. */
    enum Stage {
        /** {@code submit} was called: every stamp is counted from here. */
        SUBMITTED,
        /** The Raft loop appended it to the core's log (a follower: forwarded it to the leader). */
        PROPOSED,
        /** The first AppendEntries carrying it left for a follower. */
        SENT,
        /** The leader's own storage loop synced it. */
        SYNCED,
        /** The first follower's successful AppendEntriesReply covering it reached the Raft loop. */
        ACKNOWLEDGED,
        /** The Raft loop saw it committed (in a {@code Ready}'s committed entries). */
        COMMITTED,
        /** The state machine returned its result. */
        APPLIED,
        /** The caller's future completed, its dependent stages (such as an HTTP answer) included. */
        REPLIED
    }

    /** Samples kept for the summary; later ones are dropped (the summary says how many). */
    private static final int MAX_SAMPLES = 100_000;

    private final String nodeId;
    private final LongSupplier clock;
    private final int every;
    /** Writes submitted before this time are not sampled (warm-up). */
    private final long fromNanos;
    /** Sampled writes proposed on this leader and not yet finished, by log index. */
    private final ConcurrentSkipListMap<Long, Sample> open = new ConcurrentSkipListMap<>();
    private final List<long[]> finished = new ArrayList<>();
    private long submitted;
    private long dropped;

    /** One sampled write's stamps, indexed by {@link Stage#ordinal()}; 0 = not reached. */
    final class Sample {
        private final long[] stamps = new long[Stage.values().length];
        private long index;

        /** Raft loop: appended to the leader's log at {@code index}. */
        void proposed(long logIndex) {
            if (index != 0) {
                open.remove(index); // proposed again after a leader change (failover)
            }
            index = logIndex;
            stamps[Stage.PROPOSED.ordinal()] = clock.getAsLong();
            open.put(logIndex, this);
        }

        /** The call completed: the state machine's result is here, the future not yet completed. */
        void applied() {
            stamps[Stage.APPLIED.ordinal()] = clock.getAsLong();
        }

        /**
         * The future completed and its dependent stages ran. Kept for the summary only if the
         * write was proposed on this node (a forwarded one passed the other stages elsewhere).
         */
        void replied() {
            stamps[Stage.REPLIED.ordinal()] = clock.getAsLong();
            if (index == 0) {
                return;
            }
            open.remove(index);
            synchronized (finished) {
                if (finished.size() < MAX_SAMPLES) {
                    finished.add(stamps);
                } else {
                    dropped++;
                }
            }
        }

        /** The call failed: its stamps say nothing about the path of a write that worked. */
        void abandon() {
            if (index != 0) {
                open.remove(index);
            }
        }
    }

    private CommandTrace(String nodeId, LongSupplier clock, int every, long fromNanos) {
        this.nodeId = nodeId;
        this.clock = clock;
        this.every = every;
        this.fromNanos = fromNanos;
    }

    /**
     * The trace the system properties ask for, or null (the default): {@code raftkit.trace.every}
     * (sample one write in this many; 0 or absent: off) and {@code raftkit.trace.afterMillis}
     * (sample nothing in the first this many milliseconds after the node starts; default 0).
     *
     * @throws IllegalArgumentException naming the property if a value is not a number or negative
     */
    static CommandTrace fromSystemProperties(String nodeId, LongSupplier clock) {
        int every = intProperty("raftkit.trace.every");
        if (every == 0) {
            return null;
        }
        long after = intProperty("raftkit.trace.afterMillis");
        return new CommandTrace(nodeId, clock, every, clock.getAsLong() + after * 1_000_000L);
    }

    private static int intProperty(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n < 0) {
                throw new NumberFormatException("negative");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + name + " must be a whole number ≥ 0, was '" + value + "'");
        }
    }

    /** A new sample for a write submitted now, or null if this write is not sampled. Any thread. */
    Sample start() {
        long now = clock.getAsLong();
        if (now - fromNanos < 0) {
            return null;
        }
        synchronized (this) {
            if (submitted++ % every != 0) {
                return null;
            }
        }
        Sample s = new Sample();
        s.stamps[Stage.SUBMITTED.ordinal()] = now;
        return s;
    }

    /** Raft loop: an AppendEntries is leaving; stamps the open samples it carries. */
    void sent(AppendEntries ae) {
        if (open.isEmpty() || ae.entries().isEmpty()) {
            return;
        }
        long first = ae.entries().get(0).index();
        long last = ae.entries().get(ae.entries().size() - 1).index();
        stampUpTo(Stage.SENT, first, last);
    }

    /** Raft loop: a follower's reply arrived. */
    void acknowledged(AppendEntriesReply reply) {
        if (!open.isEmpty() && reply.success()) {
            stampUpTo(Stage.ACKNOWLEDGED, 0, reply.matchIndex());
        }
    }

    /** Storage loop: entries up to {@code lastIndex} are durable on this node. */
    void synced(long lastIndex) {
        if (!open.isEmpty()) {
            stampUpTo(Stage.SYNCED, 0, lastIndex);
        }
    }

    /** Raft loop: entries up to {@code commitIndex} are committed. */
    void committed(long commitIndex) {
        if (!open.isEmpty()) {
            stampUpTo(Stage.COMMITTED, 0, commitIndex);
        }
    }

    private void stampUpTo(Stage stage, long fromIndex, long toIndex) {
        long now = clock.getAsLong();
        for (Sample s : open.subMap(fromIndex, true, toIndex, true).values()) {
            if (s.stamps[stage.ordinal()] == 0) {
                s.stamps[stage.ordinal()] = now;
            }
        }
    }

    /**
     * One line of JSON: the samples counted, and for each stage its p50, p90 and p99 in
     * microseconds since {@link Stage#SUBMITTED} over the samples that reached it, with how many
     * did ({@code n}).
     */
    String summary() {
        List<long[]> samples;
        long droppedSamples;
        synchronized (finished) {
            samples = new ArrayList<>(finished);
            droppedSamples = dropped;
        }
        StringBuilder b = new StringBuilder("{\"node\":\"").append(nodeId).append("\",\"every\":").append(every)
                .append(",\"samples\":").append(samples.size()).append(",\"dropped\":").append(droppedSamples)
                .append(",\"microsSinceSubmit\":{");
        for (Stage stage : Stage.values()) {
            if (stage == Stage.SUBMITTED) {
                continue;
            }
            long[] since = new long[samples.size()];
            int n = 0;
            for (long[] s : samples) {
                long at = s[stage.ordinal()];
                if (at != 0) {
                    since[n++] = (at - s[Stage.SUBMITTED.ordinal()]) / 1_000;
                }
            }
            long[] sorted = Arrays.copyOf(since, n);
            Arrays.sort(sorted);
            b.append(stage == Stage.PROPOSED ? "" : ",").append('"').append(stage.name().toLowerCase(java.util.Locale.ROOT))
                    .append("\":{\"n\":").append(n).append(",\"p50\":").append(percentile(sorted, 0.50))
                    .append(",\"p90\":").append(percentile(sorted, 0.90)).append(",\"p99\":")
                    .append(percentile(sorted, 0.99)).append('}');
        }
        return b.append("}}").toString();
    }

    private static long percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
