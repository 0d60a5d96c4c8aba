package org.raftkit.message;

/**
 * Reply to {@link AppendEntries} (Figure 2), with the conflict hint of §5.3's closing
 * optimisation so a diverged follower is repaired in about one round trip per conflicting term.
 *
 * @param term          currentTerm, for leader to update itself
 * @param success       true if follower contained entry matching prevLogIndex and prevLogTerm
 * @param prevLogIndex  the request's prevLogIndex, so the leader can recognise stale replies
 * @param matchIndex    on success: the index of the last entry now known to match the leader
 *                      and durable on the follower
 * @param conflictTerm  on failure: the term of the follower's entry at prevLogIndex, or 0 if the
 *                      follower's log is shorter than prevLogIndex
 * @param conflictIndex on failure: the first index the follower holds with conflictTerm, or its
 *                      last index + 1 if its log is shorter than prevLogIndex
 */
public record AppendEntriesReply(String from, String to, long term, boolean success, long prevLogIndex,
                                 long matchIndex, long conflictTerm, long conflictIndex) implements RaftMessage {

    /** A successful reply. */
    public static AppendEntriesReply success(String from, String to, long term, long prevLogIndex, long matchIndex) {
        return new AppendEntriesReply(from, to, term, true, prevLogIndex, matchIndex, 0, 0);
    }

    /** A rejection with a conflict hint. */
    public static AppendEntriesReply reject(String from, String to, long term, long prevLogIndex,
                                            long conflictTerm, long conflictIndex) {
        return new AppendEntriesReply(from, to, term, false, prevLogIndex, 0, conflictTerm, conflictIndex);
    }
}
