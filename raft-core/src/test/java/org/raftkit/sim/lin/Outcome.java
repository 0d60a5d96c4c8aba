package org.raftkit.sim.lin;

/** What the client observed about an operation. */
public enum Outcome {
    /** The operation completed and its result (read value / CAS result) is known. */
    OK,
    /** The operation definitely did not take effect (for example, rejected by a non-leader); the checker ignores it. */
    FAILED,
    /**
     * The client does not know whether the operation took effect (timed out, crashed, lost the reply). It may take
     * effect at any point after its invocation, or never.
     */
    UNKNOWN
}
