package org.raftkit.message;

/**
 * The leader's answer to {@link ReadIndexRequest}: once the follower has applied up to
 * {@code readIndex}, it may answer the read from its own state machine.
 *
 * @param term      leader's currentTerm
 * @param requestId the request's identifier
 * @param success   false if the leader could not confirm its leadership (it stepped down)
 * @param readIndex the leader's commitIndex when the read arrived, confirmed by a quorum
 */
public record ReadIndexReply(String from, String to, long term, long requestId, boolean success, long readIndex)
        implements RaftMessage {
}
