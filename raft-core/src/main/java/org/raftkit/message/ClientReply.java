package org.raftkit.message;

/**
 * The leader's answer to a {@link ClientRequest}.
 *
 * @param requestId  the request's identifier
 * @param status     how the call ended
 * @param result     the state machine's answer when {@code status == OK}, else empty
 * @param leaderHint the node the replier believes is leader, or null
 * @param detail     a human-readable reason when not OK
 */
public record ClientReply(String from, String to, long requestId, Status status, byte[] result, String leaderHint,
                          String detail) implements Message {

    /** How a forwarded call ended; each maps to one typed exception on the client's future. */
    public enum Status {
        OK,
        /** The replier is not leader (the command was not appended). */
        NOT_LEADER,
        /** The leader's queues are full (the command was not appended). */
        BUSY,
        /** The command may or may not have been committed. */
        UNKNOWN_OUTCOME,
        /** The state machine threw while applying or querying. */
        STATE_MACHINE_ERROR,
        /** The write's registered session is unknown to the cluster (expired): it was not applied. */
        SESSION_EXPIRED
    }
}
