package org.raftkit.core;

import java.util.List;

import org.raftkit.Role;
import org.raftkit.message.Entry;
import org.raftkit.message.RaftMessage;
import org.raftkit.spi.TermVoteStore.TermAndVote;

/**
 * Everything the core asks its driver to do after some inputs, as data. Taken with
 * {@link RaftNode#ready()}; each Ready is handed out once.
 *
 * <h2>The order the driver must keep</h2>
 * <ol>
 *   <li>Send {@link #messages()} at once. They need nothing of this Ready to be durable: a
 *       leader's AppendEntries, heartbeats and ReadIndex answers (its term was saved when it
 *       campaigned, and its own entries count towards commitment only once the driver reports
 *       them durable through {@link RaftNode#onPersisted}, thesis §10.2.1), and any node's
 *       heartbeat replies and ReadIndex requests, which promise nothing a crash could take back.
 *       Liveness signals therefore never wait on an fsync.</li>
 *   <li>Persist, in this order and after every earlier Ready's persistence: {@link #termAndVote()}
 *       if not null; then {@link #entriesToPersist()}, first truncating storage from the first
 *       entry's index if storage holds entries there (a follower replacing a conflicting suffix,
 *       §5.3); then sync.</li>
 *   <li>Only then send {@link #messagesAfterPersist()}: votes, vote requests and acknowledgements
 *       promise what must survive a crash (thesis §3.8): a vote forgotten after a crash can elect
 *       two leaders in one term, an acknowledged entry forgotten can lose a committed one. Then
 *       report {@link RaftNode#onPersisted} with the last entry's index and term.</li>
 *   <li>Apply {@link #committedEntries()} in order, and report {@link RaftNode#onApplied}.
 *       Committed entries are on a majority, so they may be applied before or while this node's
 *       own copy is persisted.</li>
 *   <li>Answer each {@link #readStates()} once applied has reached its read index; fail each of
 *       {@link #failedReads()} (the node could not confirm a read; the caller may retry).</li>
 * </ol>
 *
 * @param softState            the role and leader if they changed, else null (for listeners and status)
 * @param termAndVote          currentTerm and votedFor to save durably if they changed, else null
 * @param entriesToPersist     entries to write, in index order; may start below storage's last index
 * @param messages             to send now
 * @param messagesAfterPersist to send once everything persisted so far is durable
 * @param committedEntries     newly committed entries to apply, in index order
 * @param readStates           linearizable reads that became safe
 * @param failedReads          contexts of reads this node gave up on
 */
public record Ready(SoftState softState, TermAndVote termAndVote, List<Entry> entriesToPersist,
                    List<RaftMessage> messages, List<RaftMessage> messagesAfterPersist,
                    List<Entry> committedEntries, List<ReadState> readStates, List<Long> failedReads) {

    /** The Ready with nothing to do, handed out instead of allocating one. */
    static final Ready EMPTY = new Ready(null, null, List.of(), List.of(), List.of(), List.of(), List.of(), List.of());

    /** Whether there is anything at all to do. */
    public boolean isEmpty() {
        return softState == null && termAndVote == null && entriesToPersist.isEmpty() && messages.isEmpty()
                && messagesAfterPersist.isEmpty() && committedEntries.isEmpty() && readStates.isEmpty()
                && failedReads.isEmpty();
    }

    /** Whether step 2 (persist) has work; if not, messagesAfterPersist still wait for earlier persists. */
    public boolean mustPersist() {
        return termAndVote != null || !entriesToPersist.isEmpty();
    }

    /**
     * Who leads, as this node sees it.
     *
     * @param role     this node's role
     * @param term     this node's currentTerm
     * @param leaderId the leader of {@code term} this node knows, or null
     */
    public record SoftState(Role role, long term, String leaderId) {
    }
}
