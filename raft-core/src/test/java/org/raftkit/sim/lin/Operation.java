package org.raftkit.sim.lin;

import java.util.Objects;

/**
 * One client operation on one key of a key-value register store, as recorded by the simulator.
 *
 * <p>{@code invokeTime}/{@code completeTime} are virtual times. For an {@link Outcome#UNKNOWN} outcome (client timed
 * out / crashed) {@code completeTime} is ignored: the operation may take effect at any point after
 * {@code invokeTime}, or never. {@link Outcome#FAILED} means it definitely did not take effect (for example, it was
 * rejected by a non-leader) and it is ignored by the checker.
 *
 * <ul>
 *   <li>{@link OpKind#READ}: {@code output} is the value read ({@code null} = key absent).</li>
 *   <li>{@link OpKind#WRITE}: {@code value} is written.</li>
 *   <li>{@link OpKind#CAS}: if the current value equals {@code expected} ({@code null} means "absent") then it is set
 *       to {@code value}; {@code casSucceeded} is the observed result (only meaningful when {@link Outcome#OK}).</li>
 * </ul>
 *
 * <p>Real-time order: op A <em>precedes</em> op B iff A completed OK and {@code A.completeTime < B.invokeTime}
 * (strictly). Operations whose intervals merely touch ({@code A.completeTime == B.invokeTime}) are concurrent.
 *
 * @param process      the client process that issued the operation
 * @param id           an identifier (unique within the history), used in explanations
 * @param kind         read, write or compare-and-set
 * @param key          the key the operation is on
 * @param value        WRITE / CAS: the new value (ignored for READ)
 * @param expected     CAS: the expected current value, {@code null} meaning "absent" (ignored otherwise)
 * @param output       READ: the value read, {@code null} meaning "absent" (ignored otherwise)
 * @param casSucceeded CAS: whether the client saw the CAS succeed (ignored otherwise, and unless OK)
 * @param invokeTime   virtual time the client invoked the operation
 * @param completeTime virtual time the client saw the result (ignored unless the outcome is OK)
 * @param outcome      what the client observed
 */
public record Operation(int process, long id, OpKind kind, String key, String value, String expected,
                        String output, boolean casSucceeded, long invokeTime, long completeTime, Outcome outcome) {

    /** Completion time used for operations whose outcome is unknown. */
    public static final long NEVER = Long.MAX_VALUE;

    /** Validates the components. */
    public Operation {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(outcome, "outcome");
        if (outcome == Outcome.OK && completeTime < invokeTime) {
            throw new IllegalArgumentException(
                    "completeTime " + completeTime + " < invokeTime " + invokeTime + " for OK op " + id);
        }
    }

    /**
     * @return a completed read that returned {@code output} ({@code null} = absent)
     */
    public static Operation read(int process, long id, String key, String output, long invokeTime,
                                 long completeTime) {
        return new Operation(process, id, OpKind.READ, key, null, null, output, false, invokeTime, completeTime,
                Outcome.OK);
    }

    /** @return a completed (acknowledged) write */
    public static Operation write(int process, long id, String key, String value, long invokeTime,
                                  long completeTime) {
        return new Operation(process, id, OpKind.WRITE, key, value, null, null, false, invokeTime, completeTime,
                Outcome.OK);
    }

    /** @return a completed compare-and-set whose observed result was {@code succeeded} */
    public static Operation cas(int process, long id, String key, String expected, String value, boolean succeeded,
                                long invokeTime, long completeTime) {
        return new Operation(process, id, OpKind.CAS, key, value, expected, null, succeeded, invokeTime,
                completeTime, Outcome.OK);
    }

    /** @return a read whose outcome is unknown (the checker ignores it: it has no effect) */
    public static Operation unknownRead(int process, long id, String key, long invokeTime) {
        return new Operation(process, id, OpKind.READ, key, null, null, null, false, invokeTime, NEVER,
                Outcome.UNKNOWN);
    }

    /** @return a write whose outcome is unknown: it may take effect at any time after {@code invokeTime}, or never */
    public static Operation unknownWrite(int process, long id, String key, String value, long invokeTime) {
        return new Operation(process, id, OpKind.WRITE, key, value, null, null, false, invokeTime, NEVER,
                Outcome.UNKNOWN);
    }

    /** @return a compare-and-set whose outcome is unknown */
    public static Operation unknownCas(int process, long id, String key, String expected, String value,
                                       long invokeTime) {
        return new Operation(process, id, OpKind.CAS, key, value, expected, null, false, invokeTime, NEVER,
                Outcome.UNKNOWN);
    }

    /**
     * @param newOutcome the outcome to record
     * @return a copy of this operation with a different outcome (e.g. {@code op.withOutcome(Outcome.FAILED)})
     */
    public Operation withOutcome(Outcome newOutcome) {
        return new Operation(process, id, kind, key, value, expected, output, casSucceeded, invokeTime,
                completeTime, newOutcome);
    }

    /** @return true iff the operation completed with a known result */
    public boolean isOk() {
        return outcome == Outcome.OK;
    }

    /**
     * @return a compact human-readable description, e.g. {@code p1#7 CAS k "a"->"b" succeeded OK [10,25]}
     */
    public String describe() {
        StringBuilder sb = new StringBuilder(64);
        sb.append('p').append(process).append('#').append(id).append(' ');
        switch (kind) {
            case READ -> {
                sb.append("READ ").append(key).append(" -> ");
                sb.append(outcome == Outcome.OK ? show(output) : "?");
            }
            case WRITE -> sb.append("WRITE ").append(key).append(" := ").append(show(value));
            case CAS -> {
                sb.append("CAS ").append(key).append(' ').append(show(expected)).append("->").append(show(value));
                if (outcome == Outcome.OK) {
                    sb.append(casSucceeded ? " succeeded" : " failed");
                }
            }
        }
        sb.append(' ').append(outcome).append(" [").append(invokeTime).append(',');
        if (outcome == Outcome.OK) {
            sb.append(completeTime);
        } else {
            sb.append('?');
        }
        return sb.append(']').toString();
    }

    @Override
    public String toString() {
        return describe();
    }

    /**
     * @param v a register value
     * @return {@code v} quoted, or {@code <absent>} for {@code null}
     */
    static String show(String v) {
        return v == null ? "<absent>" : '"' + v + '"';
    }
}
