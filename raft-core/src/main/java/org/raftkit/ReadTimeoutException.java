package org.raftkit;

/**
 * A read did not finish within {@link RaftConfig#requestTimeoutMillis()}. Reads change nothing,
 * so this is always safe to retry.
 */
public final class ReadTimeoutException extends UnknownOutcomeException {

    private static final long serialVersionUID = 1L;

    /** @param message what timed out */
    public ReadTimeoutException(String message) {
        super(message);
    }
}
