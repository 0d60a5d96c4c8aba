package org.raftkit.message;

/**
 * Leadership transfer (thesis §3.10): the leader tells a follower whose log it has brought up to
 * date to start an election at once, as if its election timer had fired. The election that follows
 * skips PreVote, and its RequestVotes carry {@link RequestVote#transfer()}, so voters that still
 * hear from the old leader do not ignore them.
 *
 * @param term the leader's currentTerm
 */
public record TimeoutNow(String from, String to, long term) implements RaftMessage {
}
