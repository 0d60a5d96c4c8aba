package org.raftkit.runtime;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;

import org.raftkit.spi.Scheduler;

/**
 * The production {@link Scheduler}: {@code System.nanoTime()} and one platform thread per loop,
 * which parks between turns until woken or until the time its step asked for. Threads are not
 * daemons: a node must be closed for the JVM to exit.
 */
public final class ThreadScheduler implements Scheduler {

    /** The scheduler every {@code RaftServer} uses unless the builder is given another. */
    public static final ThreadScheduler INSTANCE = new ThreadScheduler();

    private ThreadScheduler() {
    }

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public long newIncarnationId() {
        return ThreadLocalRandom.current().nextLong();
    }

    @Override
    public Loop start(String name, Step step) {
        ThreadLoop loop = new ThreadLoop(step);
        loop.thread = new Thread(loop, name);
        loop.thread.start();
        return loop;
    }

    /**
     * One loop on its own thread. Wake-ups are never lost: the loop announces it is about to park
     * ({@code parked}) and then re-reads {@code woken}; a producer sets {@code woken} and then reads
     * {@code parked}. Both are volatile, so at least one of the two sees the other's write.
     */
    private static final class ThreadLoop implements Loop, Runnable {

        private final Step step;
        private Thread thread;
        private volatile boolean woken;
        private volatile boolean parked;
        private volatile boolean stopped;

        ThreadLoop(Step step) {
            this.step = step;
        }

        @Override
        public void run() {
            while (!stopped) {
                woken = false;
                long next = step.run();
                if (next == Step.AGAIN || stopped) {
                    continue;
                }
                parked = true;
                if (!woken && !stopped) {
                    if (next == Step.IDLE) {
                        LockSupport.park(this);
                    } else {
                        long waitNanos = next - System.nanoTime();
                        if (waitNanos > 0) {
                            LockSupport.parkNanos(this, waitNanos);
                        }
                    }
                }
                parked = false;
            }
        }

        @Override
        public void wake() {
            woken = true;
            if (parked) {
                LockSupport.unpark(thread);
            }
        }

        @Override
        public void stop() {
            stopped = true;
            LockSupport.unpark(thread);
        }

        @Override
        public boolean join(long timeoutMillis) throws InterruptedException {
            thread.join(timeoutMillis);
            return !thread.isAlive();
        }

        @Override
        public boolean isCurrent() {
            return Thread.currentThread() == thread;
        }
    }
}
