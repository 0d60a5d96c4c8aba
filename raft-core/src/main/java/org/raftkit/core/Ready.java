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
 * {@link #membership()} is news, not work: it may be acted on at any point (a new configuration's
 * addresses told to the transport before this Ready's messages are sent, so that messages to new
 * members reach them). Committed configuration entries also appear among
 * {@link #committedEntries()}; the state machine skips them.
 *
 * @param softState            the role and leader if they changed, else null (for listeners and status)
 * @param termAndVote          currentTerm and votedFor to save durably if they changed, else null
 * @param entriesToPersist     entries to write, in index order; may start below storage's last index
 * @param messages             to send now
 * @param messagesAfterPersist to send once everything persisted so far is durable
 * @param committedEntries     newly committed entries to apply, in index order
 * @param readStates           linearizable reads that became safe
 * @param failedReads          contexts of reads this node gave up on
 * @param snapshots            snapshot work (see {@link SnapshotWork}), or null when there is none
 * @param membership           configuration news and results of membership requests (see
 *                             {@link MembershipNews}), or null when there are none
 */
public record Ready(SoftState softState, TermAndVote termAndVote, List<Entry> entriesToPersist,
                    List<RaftMessage> messages, List<RaftMessage> messagesAfterPersist,
                    List<Entry> committedEntries, List<ReadState> readStates, List<Long> failedReads,
                    SnapshotWork snapshots, MembershipNews membership) {

    /** The Ready with nothing to do, handed out instead of allocating one. */
    static final Ready EMPTY = new Ready(null, null, List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
            null, null);

    /** Whether there is anything at all to do. */
    public boolean isEmpty() {
        return softState == null && termAndVote == null && entriesToPersist.isEmpty() && messages.isEmpty()
                && messagesAfterPersist.isEmpty() && committedEntries.isEmpty() && readStates.isEmpty()
                && failedReads.isEmpty() && snapshots == null && membership == null;
    }

    /**
     * What changed about membership (thesis chapter 4, §3.10).
     *
     * @param configuration    the configuration this node now uses, if it changed (an entry appended
     *                         or truncated, a snapshot installed), else null. It is in use at once,
     *                         committed or not (thesis §4.1); its addresses are where to reach its members
     * @param changesCompleted changes this leader saw through (C<sub>new</sub> committed), by the index
     *                         {@code proposeConfigurationChange} returned
     * @param transfers        leadership transfers this node started that ended
     */
    public record MembershipNews(ConfigurationState configuration, List<Membership.ChangeCompleted> changesCompleted,
                                 List<LeadershipTransfer.Outcome> transfers) {
    }

    /**
     * A configuration and the index of the log entry holding it (the snapshot's index, or 0, for one
     * that came with a snapshot or the node's construction).
     */
    public record ConfigurationState(long index, Configuration configuration) {
    }

    /**
     * Whether step 2 (persist) has work; if not, messagesAfterPersist still wait for earlier persists.
     * A log change ({@link SnapshotWork#installed()} discarding the log, or a compaction) is part of
     * step 2, before the entries.
     */
    public boolean mustPersist() {
        return termAndVote != null || !entriesToPersist.isEmpty()
                || (snapshots != null && (snapshots.compactTo() > 0
                        || (snapshots.installed() != null && snapshots.installed().logDiscarded())));
    }

    /**
     * What the driver does about snapshots (Raft paper §7, Figure 13). The core never holds a
     * snapshot's bytes: the driver writes, reads and streams them off the core's thread.
     *
     * @param sends     followers to stream a snapshot to, now (replacing any transfer to them under way)
     * @param chunks    InstallSnapshot chunks from the leader to write to the snapshot being received;
     *                  the driver answers each with an InstallSnapshotReply saying how much it holds
     * @param installed a received snapshot the core has installed: in step 2, if the log was discarded,
     *                  reset storage to start after it; before applying anything after it, reset the
     *                  state machine from it. Null if none
     * @param compactTo in step 2, storage may delete entries up to this index; 0 if not
     */
    public record SnapshotWork(List<SnapshotSend> sends, List<org.raftkit.message.InstallSnapshot> chunks,
                               Installed installed, long compactTo) {
    }

    /** Send {@code peer} the snapshot whose last included entry is at {@code index} in {@code term}. */
    public record SnapshotSend(String peer, long index, long term) {
    }

    /**
     * A snapshot from the leader, installed (Figure 13 rules 6 to 8).
     *
     * @param logDiscarded whether the log was discarded (rule 7) rather than kept after the snapshot (rule 6)
     */
    public record Installed(long index, long term, boolean logDiscarded) {
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
