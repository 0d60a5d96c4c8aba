package org.raftkit.message;

/**
 * A follower asks the leader for a read index on behalf of a linearizable read (thesis §6.4).
 *
 * @param term      the follower's currentTerm
 * @param requestId the follower's identifier for the read, echoed in the reply
 */
public record ReadIndexRequest(String from, String to, long term, long requestId) implements RaftMessage {
}
