package org.raftkit.message;

/**
 * Reply to {@link Heartbeat}. Tells the leader the follower is alive (CheckQuorum) and which
 * ReadIndex round it confirms.
 *
 * @param term      currentTerm
 * @param readRound the heartbeat's readRound, echoed
 */
public record HeartbeatReply(String from, String to, long term, long readRound) implements RaftMessage {
}
