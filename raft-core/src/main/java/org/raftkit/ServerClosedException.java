package org.raftkit;

/**
 * The server was closed, or stopped after a fatal error (then {@link #getCause()} says which), while
 * the call was pending or before it was made. A pending write may or may not have been applied by
 * the rest of the cluster.
 */
public final class ServerClosedException extends RaftException {

    private static final long serialVersionUID = 1L;

    /** @param message which server, and whether it was closed or failed */
    public ServerClosedException(String message) {
        super(message, null, false);
    }

    /**
     * @param message which server failed
     * @param cause   the fatal error that stopped it
     */
    public ServerClosedException(String message, Throwable cause) {
        super(message, cause, false);
    }
}
