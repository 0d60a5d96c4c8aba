package org.raftkit.message;

/**
 * RequestVote RPC (Figure 2, §5.2), and its PreVote form (thesis §9.6).
 *
 * <p>A PreVote asks "would you vote for me if I started an election in {@code term}?" without
 * the sender or receiver changing term or vote, so a node that was cut off cannot disrupt a
 * healthy leader when it comes back.
 *
 * @param term         candidate's term; for a PreVote, the term it would campaign in
 * @param lastLogIndex index of candidate's last log entry (§5.4)
 * @param lastLogTerm  term of candidate's last log entry (§5.4)
 * @param preVote      true for a PreVote
 * @param transfer     true in an election started by {@link TimeoutNow} (thesis §3.10): the old leader
 *                     asked for it, so voters that still hear from that leader do not ignore it
 */
public record RequestVote(String from, String to, long term, long lastLogIndex, long lastLogTerm, boolean preVote,
                          boolean transfer) implements RaftMessage {

    /** A request outside a leadership transfer. */
    public RequestVote(String from, String to, long term, long lastLogIndex, long lastLogTerm, boolean preVote) {
        this(from, to, term, lastLogIndex, lastLogTerm, preVote, false);
    }
}
