package org.raftkit.examples.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import org.raftkit.spi.Scheduler;

/**
 * A {@link Scheduler} that runs a node's loops on the calling thread in virtual time, only inside
 * {@link #runUntil}: a whole {@code RaftServer} becomes a deterministic function of its inputs, so
 * a fuzz target can drive one without threads or sleeps. Loops run in the order they are due; a
 * woken loop is due now; when nothing is due, the clock jumps to the next loop's time.
 */
final class OneThreadScheduler implements Scheduler {

    private final List<OneThreadLoop> loops = new ArrayList<>();
    private long nowNanos;
    private long incarnations;

    @Override
    public long nanoTime() {
        return nowNanos;
    }

    @Override
    public long newIncarnationId() {
        return ++incarnations;
    }

    @Override
    public Loop start(String name, Step step) {
        OneThreadLoop loop = new OneThreadLoop(step);
        loops.add(loop);
        return loop;
    }

    /**
     * Runs due loops until {@code done} holds or {@code maxNanos} of virtual time have passed.
     *
     * @return whether {@code done} held
     */
    boolean runUntil(BooleanSupplier done, long maxNanos) {
        long deadline = nowNanos + maxNanos;
        while (!done.getAsBoolean()) {
            OneThreadLoop next = null;
            for (OneThreadLoop loop : loops) {
                if (!loop.stopped && (next == null || loop.due < next.due)) {
                    next = loop;
                }
            }
            if (next == null || next.due == Step.IDLE || next.due > deadline) {
                nowNanos = Math.max(nowNanos, deadline);
                return done.getAsBoolean();
            }
            nowNanos = Math.max(nowNanos, next.due);
            next.turn(nowNanos);
        }
        return true;
    }

    /** One loop: when it is due next ({@link Step#IDLE} for "only when woken"). */
    private final class OneThreadLoop implements Loop {
        private final Step step;
        private long due;
        private boolean stopped;
        private boolean running;

        OneThreadLoop(Step step) {
            this.step = step;
            this.due = nowNanos;
        }

        void turn(long now) {
            due = Step.IDLE;
            running = true;
            long next;
            try {
                next = step.run();
            } finally {
                running = false;
            }
            long wanted = next == Step.AGAIN ? now : next;
            due = Math.min(due, wanted); // a wake during the turn keeps it due now
        }

        @Override
        public void wake() {
            due = Math.min(due, nowNanos);
        }

        @Override
        public void stop() {
            stopped = true;
        }

        @Override
        public boolean join(long timeoutMillis) {
            return true; // one thread: no turn is under way while the caller runs
        }

        @Override
        public boolean isCurrent() {
            return running;
        }
    }
}
