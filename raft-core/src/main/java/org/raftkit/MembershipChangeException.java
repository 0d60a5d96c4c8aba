package org.raftkit;

import org.raftkit.core.Membership;

/**
 * A membership change ({@link RaftServer#changeMembership} and the calls built on it) was refused.
 * Nothing was appended: the configuration is unchanged. {@link #reason()} says why and
 * {@link Reason#retryable()} whether the same call may succeed later.
 */
public final class MembershipChangeException extends RaftException {

    private static final long serialVersionUID = 1L;

    /** Why a change was refused. */
    public enum Reason {
        /** The leader is handing leadership over (thesis §3.10); retry at the new leader. */
        LEADERSHIP_TRANSFER_IN_PROGRESS(true),
        /** The leader has not committed an entry of its term yet (it was just elected); retry shortly. */
        NO_COMMIT_IN_TERM_YET(true),
        /** The configuration is not at the index the caller expected: another change came first. Read it again. */
        CONFIGURATION_CHANGED(false),
        /** Another change is in flight (joint or not yet committed); retry once it is done. */
        CHANGE_IN_PROGRESS(true),
        /** The requested configuration is the current one. */
        UNCHANGED(false),
        /** The requested configuration is not valid: no voter, an id twice, an empty id. */
        INVALID_CONFIGURATION(false),
        /** A new voter is not a learner that has caught up with the leader; retry once it has. */
        LEARNER_NOT_CAUGHT_UP(true),
        /** {@code addLearner}: a member with this id exists already. */
        ALREADY_MEMBER(false),
        /** {@code promote}, {@code removeMember}, {@code replaceMember}: no member has this id. */
        NOT_A_MEMBER(false),
        /** {@code promote}: the member is a voter already, not a learner. */
        NOT_A_LEARNER(false),
        /** {@code removeMember}: it is the last voter; a cluster needs one. */
        LAST_VOTER(false),
        /** This node is not in the configuration (it was removed, or was never added): ask a member. */
        NOT_A_MEMBER_HERE(false);

        private final boolean retryable;

        Reason(boolean retryable) {
            this.retryable = retryable;
        }

        /** Whether the same call may succeed if made again later, unchanged. */
        public boolean retryable() {
            return retryable;
        }

        /** The reason for a refusal by the core. {@code NOT_LEADER} is not one: it becomes a {@link NotLeaderException}. */
        static Reason of(Membership.Refusal refusal) {
            return switch (refusal) {
                case LEADERSHIP_TRANSFER_IN_PROGRESS -> LEADERSHIP_TRANSFER_IN_PROGRESS;
                case NO_COMMIT_IN_TERM_YET -> NO_COMMIT_IN_TERM_YET;
                case CONFIGURATION_CHANGED -> CONFIGURATION_CHANGED;
                case CHANGE_IN_PROGRESS -> CHANGE_IN_PROGRESS;
                case UNCHANGED -> UNCHANGED;
                case INVALID_CONFIGURATION -> INVALID_CONFIGURATION;
                case LEARNER_NOT_CAUGHT_UP -> LEARNER_NOT_CAUGHT_UP;
                case NOT_LEADER -> throw new IllegalArgumentException("NOT_LEADER is a NotLeaderException");
            };
        }
    }

    private final Reason reason;

    /**
     * @param reason  why
     * @param message the details, naming the members concerned
     */
    public MembershipChangeException(Reason reason, String message) {
        super(reason + ": " + message, null, false);
        this.reason = reason;
    }

    /** For the runtime: a refusal of the core. */
    public static MembershipChangeException of(Membership.Refusal refusal, String detail) {
        return new MembershipChangeException(Reason.of(refusal), detail);
    }

    /** Why the change was refused. */
    public Reason reason() {
        return reason;
    }
}
