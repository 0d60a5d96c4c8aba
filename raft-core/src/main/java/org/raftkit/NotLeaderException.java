package org.raftkit;

/**
 * The call reached a node that is not the leader and could not be passed on, or the leader lost
 * its leadership before the call took effect. Nothing was applied: the call is safe to retry,
 * preferably at {@link #leaderId()}.
 */
public final class NotLeaderException extends RaftException {

    private static final long serialVersionUID = 1L;

    private final String leaderId;

    /**
     * @param leaderId the last leader the failing node knew of, or null if it knows none
     */
    public NotLeaderException(String leaderId) {
        this(leaderId, leaderId == null ? "no leader known" : "not the leader; last known leader is " + leaderId);
    }

    /**
     * @param leaderId the last leader the failing node knew of, or null if it knows none
     * @param message  why the call failed
     */
    public NotLeaderException(String leaderId, String message) {
        super(message, null, false);
        this.leaderId = leaderId;
    }

    /** The last leader the node knew of, or null if it knows none. */
    public String leaderId() {
        return leaderId;
    }
}
