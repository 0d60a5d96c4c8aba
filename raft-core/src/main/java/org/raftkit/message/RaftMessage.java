package org.raftkit.message;

/**
 * A message of the Raft protocol itself. Every one carries the sender's current term, which
 * drives the §5.1 rule: a node that sees a higher term steps down to follower; a message with a
 * lower term is stale.
 */
public sealed interface RaftMessage extends Message
        permits RequestVote, RequestVoteReply, AppendEntries, AppendEntriesReply, Heartbeat, HeartbeatReply,
        ReadIndexRequest, ReadIndexReply, InstallSnapshot, InstallSnapshotReply, TimeoutNow {

    /** The sender's term ({@code currentTerm}), or for a PreVote the term it would campaign in. */
    long term();
}
