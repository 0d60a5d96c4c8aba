package org.raftkit.sim;

import java.util.ArrayDeque;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * What every part of one {@link Simulation} shares: the virtual clock, the queue of events that
 * advances it, the single seeded random and the trace of what happened.
 *
 * <p>There is one random for the whole run, not one per part, because the run replays from its
 * seed only if every draw happens in the same order; splitting it per part would change every
 * seed's run. Events at the same time run in the order they were scheduled (the sequence number
 * breaks ties), for the same reason.
 */
final class SimContext {

    /** The only source of randomness in the run; see the class comment for why there is one. */
    final SplittableRandom random;
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private final ArrayDeque<String> trace = new ArrayDeque<>();
    private long now;
    private long sequence;

    SimContext(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /** Virtual time in microseconds. */
    long now() {
        return now;
    }

    void schedule(long time, Event e) {
        e.time = time;
        e.sequence = sequence++;
        events.add(e);
    }

    void runUntil(long time) {
        while (!events.isEmpty() && events.peek().time <= time) {
            Event e = events.poll();
            now = e.time;
            e.run();
        }
        now = time;
    }

    /** {@code -Dsim.echo=true}: print each line of the trace as it happens (for replaying one seed). */
    private static final boolean ECHO = Boolean.getBoolean("sim.echo");

    void note(String line) {
        String stamped = String.format("%9.3f ms  %s", now / 1000.0, line);
        if (ECHO) {
            System.out.println(stamped);
        }
        trace.addLast(stamped);
        if (trace.size() > 120) {
            trace.removeFirst();
        }
    }

    /** The last lines noted, oldest first. */
    String trace() {
        return String.join("\n", trace);
    }

    abstract static class Event implements Comparable<Event> {
        long time;
        long sequence;

        abstract void run();

        @Override
        public int compareTo(Event o) {
            int c = Long.compare(time, o.time);
            return c != 0 ? c : Long.compare(sequence, o.sequence);
        }
    }
}
