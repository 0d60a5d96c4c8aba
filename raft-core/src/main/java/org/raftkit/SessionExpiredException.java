package org.raftkit;

/**
 * A write in a {@link Session} was refused because the cluster no longer knows the session: it
 * expired (no command for {@code Session.EXPIRY_ENTRIES} log entries), was evicted to keep the
 * session table within its bound, or was never registered. Nothing was applied. The session's
 * earlier results are gone, so a retry of an earlier command could no longer be told from a new
 * one: the application must treat the outcome of its unanswered commands as unknown (read the
 * state to find out), and open a new session (thesis §6.3).
 */
public final class SessionExpiredException extends RaftException {

    private static final long serialVersionUID = 1L;

    /** @param message which session, and at which index it was found unknown */
    public SessionExpiredException(String message) {
        super(message, null, false);
    }
}
