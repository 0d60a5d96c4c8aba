package org.raftkit.message;

/**
 * Reply to {@link RequestVote} (Figure 2).
 *
 * @param term        currentTerm, for candidate to update itself; for a granted PreVote, the
 *                    term the PreVote asked about
 * @param voteGranted true means candidate received vote
 * @param preVote     true if this answers a PreVote
 */
public record RequestVoteReply(String from, String to, long term, boolean voteGranted, boolean preVote)
        implements RaftMessage {
}
