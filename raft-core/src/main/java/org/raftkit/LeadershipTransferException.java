package org.raftkit;

/**
 * A leadership transfer ({@link RaftServer#transferLeadership}) did not make its target the leader.
 * Nothing was lost: the old leader either still leads (it takes writes again) or another server
 * was elected. {@link #reason()} says which.
 */
public final class LeadershipTransferException extends RaftException {

    private static final long serialVersionUID = 1L;

    /** Why the transfer did not happen. */
    public enum Reason {
        /** The target is not a voter of the configuration (a learner, or not a member). */
        TARGET_NOT_A_VOTER,
        /** Another transfer is under way on this leader. */
        TRANSFER_IN_PROGRESS,
        /** The target did not win within an election timeout; the old leader goes on leading if it can. */
        TIMED_OUT,
        /** Another server than the target became leader. */
        ANOTHER_LEADER,
        /** The target left the configuration while the transfer was under way. */
        TARGET_REMOVED
    }

    private final Reason reason;
    private final String leaderId;

    /**
     * @param reason   why
     * @param leaderId the leader the node knew of when the transfer ended, or null
     * @param message  the details
     */
    public LeadershipTransferException(Reason reason, String leaderId, String message) {
        super(reason + ": " + message, null, false);
        this.reason = reason;
        this.leaderId = leaderId;
    }

    /** Why the transfer did not happen. */
    public Reason reason() {
        return reason;
    }

    /** The leader the node knew of when the transfer ended, or null. */
    public String leaderId() {
        return leaderId;
    }
}
