package org.raftkit.runtime;

import java.util.TreeSet;

/**
 * This node's own client session: the id and sequence numbers that make every write submitted
 * here a session command ({@link Sessions}), so that a retry of it (a forwarded call sent again, a
 * duplicated message) is applied at most once. One per incarnation: its id is drawn at start, so
 * two incarnations never share a session.
 *
 * <p>The floor it stamps on each command is the lowest sequence number of a call still open here:
 * every call below it has ended (with a result, a failure or a timeout), so nothing will send it
 * again and the replicated table may forget its result.
 *
 * <p>The same class tracks an application's {@code Session} on this node (a registered session,
 * whose id and sequence numbers are the application's): {@link #openGiven} then takes the
 * application's number instead of drawing one. Public only so that {@code Session} can hold one.
 *
 * <p>Thread-safe: {@link #open} on the calling thread of {@code submit}, {@link #close} on
 * whichever thread ends the call. Invariant: a floor computed after {@link #open} returned
 * {@code s} and before {@link #close}{@code (s)} is at most {@code s}.
 *
 * <p>Drawn numbers are tracked in a ring of flags over {@code [lowestOpen, next)}: on every write's
 * path, so no boxing and no allocation (a skip list of boxed numbers cost 2-3 % of a leader's
 * samples). Given numbers, which may come in any order, go in a sorted set.
 */
public final class ClientSession {

    private final long clientId;

    // Drawn numbers: every number below lowestOpen is closed; closed[s & mask] for s in [lowestOpen, next).
    private long next = 1;
    private long lowestOpen = 1;
    private boolean[] closed = new boolean[256];

    /** Given numbers still open (an application's session); null until the first one. */
    private TreeSet<Long> given;

    ClientSession(long clientId) {
        this.clientId = clientId;
    }

    long clientId() {
        return clientId;
    }

    /**
     * Opens a call: its sequence number, with the call counted open until {@link #close}. Drawing
     * the number and counting it open is one step: between the two, another thread's floor could
     * pass the number, and the command would then be taken for an old duplicate and never applied
     * (while its caller was told it succeeded). Found by the membership benchmarks under load.
     */
    synchronized long open() {
        if (next - lowestOpen == closed.length) {
            grow();
        }
        long sequence = next++;
        closed[index(sequence)] = false;
        return sequence;
    }

    /**
     * Opens a call with the application's own sequence number. Returns false, opening nothing, if
     * a call with that number is still open here.
     */
    synchronized boolean openGiven(long sequence) {
        if (given == null) {
            given = new TreeSet<>();
        }
        return given.add(sequence);
    }

    /** The floor to stamp on a command: the lowest sequence number still open (at most {@code sequence}). */
    synchronized long floor(long sequence) {
        long lowest = given != null ? (given.isEmpty() ? sequence : given.first()) : lowestOpen;
        return Math.min(lowest, sequence);
    }

    /** Ends a call: nothing will send its sequence number again. */
    synchronized void close(long sequence) {
        if (given != null) {
            given.remove(sequence);
            return;
        }
        if (sequence < lowestOpen || sequence >= next) {
            return; // closed already
        }
        closed[index(sequence)] = true;
        while (lowestOpen < next && closed[index(lowestOpen)]) {
            lowestOpen++;
        }
    }

    private int index(long sequence) {
        return (int) (sequence & (closed.length - 1));
    }

    /** Doubles the ring, keeping each open number's flag. */
    private void grow() {
        boolean[] bigger = new boolean[closed.length * 2];
        for (long s = lowestOpen; s < next; s++) {
            bigger[(int) (s & (bigger.length - 1))] = closed[index(s)];
        }
        closed = bigger;
    }
}
