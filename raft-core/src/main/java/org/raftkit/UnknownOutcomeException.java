package org.raftkit;

/**
 * The call did not finish within {@link RaftConfig#requestTimeoutMillis()}, or its node lost
 * track of it. For a write, the command may or may not have been applied, now or later: retry only
 * if the command is idempotent, or check first. Reads fail with the subtype
 * {@link ReadTimeoutException}, which is always safe to retry.
 */
public class UnknownOutcomeException extends RaftException {

    private static final long serialVersionUID = 1L;

    /** @param message what timed out */
    public UnknownOutcomeException(String message) {
        super(message, null, false);
    }
}
