package org.raftkit;

/**
 * Base of every exception with which RaftKit completes a client future. Unchecked. Subtypes say
 * whether the call may be retried safely:
 * <ul>
 *   <li>{@link NotLeaderException}, {@link ServerBusyException}: nothing was done; retry (elsewhere or later).</li>
 *   <li>{@link UnknownOutcomeException}: a write may or may not have been applied.</li>
 *   <li>{@link ServerClosedException}: this server is closed or failed; use another node.</li>
 *   <li>{@link StateMachineException}: the state machine threw.</li>
 *   <li>{@link CommandTooLargeException}: nothing was done; the same command will never be accepted.</li>
 * </ul>
 */
public class RaftException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An exception with a message. */
    public RaftException(String message) {
        super(message);
    }

    /** An exception with a message and a cause. */
    public RaftException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * For expected outcomes (busy, not leader, timed out), whose stack trace would only show
     * RaftKit's internals: leaving it out keeps failing fast cheap under load.
     */
    protected RaftException(String message, Throwable cause, boolean writableStackTrace) {
        super(message, cause, true, writableStackTrace);
    }
}
