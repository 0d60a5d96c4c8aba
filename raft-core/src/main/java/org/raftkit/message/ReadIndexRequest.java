package org.raftkit.message;

/**
 * A follower asks the leader for a read index on behalf of a linearizable read (thesis §6.4).
 *
 * @param term      the follower's currentTerm
 * @param requestId the follower's identifier for the read, echoed in the reply
 * @param lease     the read may be answered under the leader's lease (thesis §6.4.1), without a
 *                  heartbeat round, if the leader's lease holds
 */
public record ReadIndexRequest(String from, String to, long term, long requestId, boolean lease) implements RaftMessage {

    /** A read index request for a ReadIndex read (no lease). */
    public ReadIndexRequest(String from, String to, long term, long requestId) {
        this(from, to, term, requestId, false);
    }

    /** The same request, to be confirmed by a heartbeat round whatever the leader's lease. */
    public ReadIndexRequest withoutLease() {
        return lease ? new ReadIndexRequest(from, to, term, requestId, false) : this;
    }
}
