package org.raftkit;

/**
 * The node's queue of pending calls is full ({@link RaftConfig#maxPendingRequests()} or
 * {@link RaftConfig#maxPendingBytes()}). Nothing was done; retry later, ideally with backoff.
 */
public final class ServerBusyException extends RaftException {

    private static final long serialVersionUID = 1L;

    /** @param message which limit was reached */
    public ServerBusyException(String message) {
        super(message, null, false);
    }
}
