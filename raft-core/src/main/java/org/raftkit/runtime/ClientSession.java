package org.raftkit.runtime;

import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;

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
 */
public final class ClientSession {

    private final long clientId;
    private final AtomicLong nextSequence = new AtomicLong(1);
    private final ConcurrentSkipListSet<Long> open = new ConcurrentSkipListSet<>();

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
        long sequence = nextSequence.getAndIncrement();
        open.add(sequence);
        return sequence;
    }

    /**
     * Opens a call with the application's own sequence number. Returns false, opening nothing, if
     * a call with that number is still open here.
     */
    synchronized boolean openGiven(long sequence) {
        return open.add(sequence);
    }

    /** The floor to stamp on a command: the lowest sequence number still open (at most {@code sequence}). */
    long floor(long sequence) {
        Long lowest = open.isEmpty() ? null : open.first();
        return lowest == null ? sequence : Math.min(lowest, sequence);
    }

    /** Ends a call: nothing will send its sequence number again. */
    void close(long sequence) {
        open.remove(sequence);
    }
}
