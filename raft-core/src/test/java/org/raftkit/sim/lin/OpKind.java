package org.raftkit.sim.lin;

/** The kind of a client operation on a single key of the replicated key-value store. */
public enum OpKind {
    /** Reads the current value of a key; {@link Operation#output()} is the value read ({@code null} = absent). */
    READ,
    /** Unconditionally sets a key to {@link Operation#value()}. */
    WRITE,
    /**
     * Compare-and-set: if the current value equals {@link Operation#expected()} ({@code null} meaning "absent"),
     * sets it to {@link Operation#value()}; {@link Operation#casSucceeded()} is the observed result.
     */
    CAS
}
