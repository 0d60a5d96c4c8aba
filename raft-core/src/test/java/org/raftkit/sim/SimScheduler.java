package org.raftkit.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.raftkit.sim.SimContext.Event;
import org.raftkit.spi.Scheduler;

/**
 * One incarnation's {@link Scheduler} in the whole-node simulator: the runtime's three loops run
 * as events on the simulation's one queue, in virtual time, so a seed fixes every interleaving of
 * every node's Raft, storage and apply turns.
 *
 * <p>A wake schedules the loop's next turn after a short delay drawn from the seed: microseconds
 * for the Raft loop (a thread waking), the disk's latency for the storage loop (so writes queued
 * meanwhile share its sync, as group commit does), the state machine's for the apply loop. A node
 * can be paused (a GC-like stall: no loop runs until it resumes), its clock can jump forward, and
 * a crashed incarnation's loops never run again.
 */
final class SimScheduler implements Scheduler {

    /** Which loop a turn belongs to, from the name the runtime gives it. */
    enum Kind { RAFT, STORAGE, APPLY }

    /** Told after every turn; the cluster's checks run there. */
    interface TurnListener {
        void afterTurn(SimScheduler scheduler, Kind kind);
    }

    private final SimContext ctx;
    private final SplittableRandom random;
    final String nodeId;
    private final TurnListener listener;
    private final List<SimLoop> loops = new ArrayList<>();

    /** Added to virtual time; a clock jump moves it forward (a monotonic clock never goes back). */
    long clockOffsetNanos;
    /**
     * How fast this node's clock runs against virtual time (1: exactly). Lease reads assume two
     * clocks differ by at most {@code RaftConfig.clockDriftBound()}; the lease simulation draws rates
     * within it. 1 everywhere else, where the arithmetic below is exact.
     */
    double clockRate = 1.0;
    /** Virtual time (µs) before which no loop runs: a pause. */
    long pausedUntil;
    /** Disk latency per storage turn (µs), before the slow-disk factor. */
    long diskMicros = 50;
    long diskSlowFactor = 1;
    /** Extra delay before each apply turn (µs): a slow state machine. */
    long applyMicros;
    /** Set when the incarnation crashes: nothing of it runs again. */
    boolean dead;

    SimScheduler(SimContext ctx, String nodeId, TurnListener listener) {
        this.ctx = ctx;
        this.random = ctx.random;
        this.nodeId = nodeId;
        this.listener = listener;
    }

    @Override
    public long nanoTime() {
        if (clockRate == 1.0) {
            return ctx.now() * 1_000 + clockOffsetNanos;
        }
        return (long) Math.floor(ctx.now() * 1_000 * clockRate) + clockOffsetNanos;
    }

    @Override
    public long newIncarnationId() {
        return random.nextLong();
    }

    @Override
    public Loop start(String name, Step step) {
        Kind kind = name.endsWith("-raft") ? Kind.RAFT : name.endsWith("-storage") ? Kind.STORAGE : Kind.APPLY;
        SimLoop loop = new SimLoop(kind, step);
        loops.add(loop);
        loop.wake();
        return loop;
    }

    /** Jumps this node's clock forward, as a VM resumed after a suspend sees it. */
    void jumpClock(long micros) {
        clockOffsetNanos += micros * 1_000;
        for (SimLoop loop : loops) {
            loop.wake(); // timers computed before the jump are now due
        }
    }

    /** Stops every loop for good: the incarnation crashed. */
    void kill() {
        dead = true;
    }

    /** The virtual time (µs) at which the scheduler's clock reads {@code nanos}, rounded up. */
    private long virtualTime(long nanos) {
        long micros = clockRate == 1.0 ? Math.floorDiv(nanos - clockOffsetNanos + 999, 1_000)
                : (long) Math.ceil((nanos - clockOffsetNanos) / (1_000 * clockRate));
        return Math.max(ctx.now(), micros);
    }

    /** One of the runtime's loops, run as events. At most one turn is pending at a time. */
    private final class SimLoop implements Loop {

        private final Kind kind;
        private final Step step;
        private Turn pending;
        private boolean stopped;
        private boolean running;

        SimLoop(Kind kind, Step step) {
            this.kind = kind;
            this.step = step;
        }

        @Override
        public void wake() {
            long delay = switch (kind) {
                case RAFT -> random.nextLong(20);
                case STORAGE -> diskMicros * diskSlowFactor + random.nextLong(diskMicros * diskSlowFactor + 1);
                case APPLY -> applyMicros + random.nextLong(30);
            };
            runAt(ctx.now() + delay);
        }

        private void runAt(long time) {
            if (stopped || dead) {
                return;
            }
            if (pending != null && pending.time <= time) {
                return; // an earlier turn is already due; it will see the work
            }
            if (pending != null) {
                pending.cancelled = true;
            }
            pending = new Turn(this);
            ctx.schedule(time, pending);
        }

        void turn(Turn t) {
            if (t.cancelled || t != pending) {
                return;
            }
            pending = null;
            if (stopped || dead) {
                return;
            }
            if (ctx.now() < pausedUntil) {
                runAt(pausedUntil);
                return;
            }
            running = true;
            long next;
            try {
                next = step.run();
            } finally {
                running = false;
            }
            listener.afterTurn(SimScheduler.this, kind);
            if (next == Step.AGAIN) {
                runAt(ctx.now() + 1);
            } else if (next != Step.IDLE) {
                runAt(virtualTime(next));
            }
        }

        @Override
        public void stop() {
            stopped = true;
        }

        @Override
        public boolean join(long timeoutMillis) {
            return true; // one thread: no turn is ever under way while another runs
        }

        @Override
        public boolean isCurrent() {
            return running;
        }
    }

    private static final class Turn extends Event {
        private final SimLoop loop;
        boolean cancelled;

        Turn(SimLoop loop) {
            this.loop = loop;
        }

        @Override
        void run() {
            loop.turn(this);
        }
    }
}
