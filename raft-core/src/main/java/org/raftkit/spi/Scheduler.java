package org.raftkit.spi;

/**
 * Where a node's runtime gets its time and its threads. The runtime never reads
 * {@code System.nanoTime} or starts a thread itself: it asks its {@code Scheduler}. In production
 * that is {@link org.raftkit.runtime.ThreadScheduler} (one platform thread per loop, the system's
 * monotonic clock); the whole-node simulator plugs in virtual time and runs every loop of every node
 * on one thread, interleaved by its seed, so that production and simulation run the same code.
 *
 * <p>A node runs three loops (Raft, storage, apply). Each is a {@link Step}: one turn over the
 * loop's queue that never waits for work itself, and says when it wants to run again.
 */
public interface Scheduler {

    /**
     * Monotonic time in nanoseconds, for timeouts and ticks; only differences are meaningful. Any
     * thread; never blocks.
     */
    long nanoTime();

    /**
     * A fresh random 64-bit value, for ids that must not repeat across a node's restarts (the
     * first request id of each incarnation). Production draws it from a random source seeded
     * differently in every JVM; the simulator from its seed. Any thread; never blocks.
     */
    long newIncarnationId();

    /**
     * Starts running {@code step} over and over, as {@link Step#run()}'s return value asks, until
     * {@link Loop#stop()}. Called by the runtime on the thread that starts the node, once per loop.
     *
     * @param name for threads and logs, such as {@code raftkit-n1-raft}
     * @param step the loop's body; the scheduler never runs two turns of one step at once
     * @return the handle through which the loop is woken and stopped
     */
    Loop start(String name, Step step);

    /** One turn of a loop. */
    @FunctionalInterface
    interface Step {

        /** Returned by {@link #run()}: run again only when woken. */
        long IDLE = Long.MAX_VALUE;
        /** Returned by {@link #run()}: run again at once (there is more work). */
        long AGAIN = Long.MIN_VALUE;

        /**
         * Does the work queued now, without waiting for more. Runs on the loop's own thread (or the
         * simulator's). Must not throw: a loop handles its own failures (the runtime fail-stops).
         *
         * @return {@link #AGAIN}, {@link #IDLE}, or the {@link Scheduler#nanoTime()} at which to
         *         run again if nothing wakes the loop before then
         */
        long run();
    }

    /** A running loop. */
    interface Loop {

        /**
         * Makes the loop run a turn soon: work was queued for it. Any thread; never blocks; cheap
         * when the loop is busy anyway. A wake that races with a turn is never lost: that turn or the
         * next sees the work.
         */
        void wake();

        /** Runs no turn after the one under way, if any. Any thread; never blocks. Idempotent. */
        void stop();

        /**
         * Waits until the loop has ended after {@link #stop()}. Must not be called from the loop
         * itself (see {@link #isCurrent()}).
         *
         * @return false if it was still running after {@code timeoutMillis}
         */
        boolean join(long timeoutMillis) throws InterruptedException;

        /** Whether the caller is running a turn of this loop (so must not join it). */
        boolean isCurrent();
    }
}
