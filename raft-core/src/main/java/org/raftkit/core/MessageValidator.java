package org.raftkit.core;

import java.util.List;

import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.HeartbeatReply;
import org.raftkit.message.InstallSnapshot;
import org.raftkit.message.InstallSnapshotReply;
import org.raftkit.message.RaftMessage;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.message.RequestVote;
import org.raftkit.message.TimeoutNow;

/**
 * Defence in depth (issue 15): the checks every incoming message passes before the core acts on
 * it, so that a buggy or compromised member cannot do what no correct one could: overflow a term,
 * plant a log with gaps or with terms going backwards, rewrite a committed entry, stop a node, or
 * make a leader count an acknowledgement for entries it never sent.
 *
 * <p>{@link #check(RaftMessage)} needs only the message and is called at the top of
 * {@link RaftNode#step}, before the §5.1 term rule, so a malformed message at a higher term cannot
 * depose anyone. The other functions need the receiver's state and are called by the handler that
 * has it. A message that fails is dropped and counted by {@link Reason}
 * ({@link RaftNode#rejectedMessages()}); none of them throws.
 *
 * <p>What this cannot stop: a well-formed message that lies. Raft trusts its members (it is not
 * Byzantine fault tolerant): a member that sends a valid AppendEntries or RequestVote at a higher
 * term deposes the leader, and one that wins an election can replace uncommitted entries. Only
 * authenticating the members (TLS) keeps outsiders from doing that; see ARCHITECTURE.md.
 */
public final class MessageValidator {

    /**
     * The highest term a message may carry. Far beyond any real cluster's (a new term every
     * millisecond would need 146 million years to reach it), and low enough that {@code term + 1},
     * a PreVote's next term and a candidate's increment can never overflow.
     */
    public static final long MAX_TERM = 1L << 62;

    /**
     * The most one message may raise a node's term: 2^20 elections, decades of them at one a
     * second. Without it a member's single heartbeat at {@link #MAX_TERM} left every later
     * election at a term every node refuses (found by fuzzing); with it, exhausting the term space
     * takes 2^42 forged messages.
     */
    public static final long MAX_TERM_JUMP = 1L << 20;

    /** The highest log index a message may carry, for the same reason: {@code index + 1} must not overflow. */
    public static final long MAX_INDEX = 1L << 62;

    /** Why a message was refused. Each is counted separately. */
    public enum Reason {
        /** A term below zero or above {@link #MAX_TERM}, in the message or in one of its entries. */
        TERM_OUT_OF_RANGE,
        /** An index below zero or above {@link #MAX_INDEX} (prevLogIndex, lastLogIndex, commit, hint). */
        INDEX_OUT_OF_RANGE,
        /** AppendEntries whose entries do not run contiguously from prevLogIndex + 1. */
        ENTRIES_NOT_CONTIGUOUS,
        /** An entry, a prevLogTerm or a lastLogTerm with a term above the term of the message carrying it. */
        LOG_TERM_ABOVE_MESSAGE_TERM,
        /** AppendEntries whose entry terms go down (from prevLogTerm on): no leader's log looks like that. */
        ENTRY_TERMS_DECREASE,
        /** A reply whose fields contradict each other (a success below its own prevLogIndex, a hint past it). */
        MALFORMED_REPLY,
        /** AppendEntries that disagrees with an entry the receiver knows is committed (Leader Completeness, §5.4). */
        CONFLICTS_WITH_COMMITTED_ENTRY,
        /** A reply about a log index beyond the leader's last: an index it never sent. */
        REPLY_BEYOND_LEADER_LOG,
        /** A heartbeat reply confirming a ReadIndex round the leader has not started (it would confirm reads early). */
        READ_ROUND_NOT_STARTED,
        /** A ReadIndex answer from a node that is not this node's leader. */
        READ_REPLY_NOT_FROM_LEADER,
        /**
         * A term more than {@link #MAX_TERM_JUMP} above the receiver's: no run of elections gets
         * there, while one message adopted from a liar could exhaust the term space for good.
         */
        TERM_JUMP_TOO_LARGE,
        /** A configuration entry whose payload does not decode ({@link Configuration#decode}), or names no voter. */
        MALFORMED_CONFIGURATION,
        /** A TimeoutNow from a node that is not this node's leader in the current term (thesis §3.10). */
        TIMEOUT_NOW_NOT_FROM_LEADER
    }

    private MessageValidator() {
    }

    /**
     * The checks that need only the message: terms and indexes in range, and AppendEntries shaped
     * like a slice of some leader's log (Figure 2: entries follow prevLogIndex; a log's terms never
     * decrease; a leader creates entries only in its own term, so none is above it).
     *
     * @return null if the message may be handled, else why it must be dropped
     */
    public static Reason check(RaftMessage m) {
        if (!termInRange(m.term())) {
            return Reason.TERM_OUT_OF_RANGE;
        }
        if (m instanceof AppendEntries ae) {
            return checkAppendEntries(ae);
        }
        if (m instanceof AppendEntriesReply r) {
            return checkAppendEntriesReply(r);
        }
        if (m instanceof Heartbeat hb) {
            return indexInRange(hb.commitIndex()) && hb.readRound() >= 0 ? null : Reason.INDEX_OUT_OF_RANGE;
        }
        if (m instanceof HeartbeatReply r) {
            return r.readRound() >= 0 ? null : Reason.INDEX_OUT_OF_RANGE;
        }
        if (m instanceof RequestVote rv) {
            if (!indexInRange(rv.lastLogIndex())) {
                return Reason.INDEX_OUT_OF_RANGE;
            }
            if (rv.lastLogTerm() < 0) {
                return Reason.TERM_OUT_OF_RANGE;
            }
            // A candidate's log holds entries of its own or earlier terms only.
            return rv.lastLogTerm() > rv.term() ? Reason.LOG_TERM_ABOVE_MESSAGE_TERM : null;
        }
        if (m instanceof ReadIndexReply r) {
            return indexInRange(r.readIndex()) ? null : Reason.INDEX_OUT_OF_RANGE;
        }
        if (m instanceof InstallSnapshot is) {
            if (!indexInRange(is.lastIncludedIndex()) || is.lastIncludedIndex() < 1 || is.offset() < 0) {
                return Reason.INDEX_OUT_OF_RANGE;
            }
            if (is.lastIncludedTerm() < 1) {
                return Reason.TERM_OUT_OF_RANGE;
            }
            // A snapshot holds committed entries, all of the leader's term or earlier.
            return is.lastIncludedTerm() > is.term() ? Reason.LOG_TERM_ABOVE_MESSAGE_TERM : null;
        }
        if (m instanceof InstallSnapshotReply r) {
            return indexInRange(r.lastIncludedIndex()) && r.nextOffset() >= 0 ? null : Reason.INDEX_OUT_OF_RANGE;
        }
        // RequestVoteReply, ReadIndexRequest and TimeoutNow carry nothing but the term to check here;
        // TimeoutNow's sender is checked against the leader by its handler.
        return null;
    }

    private static Reason checkAppendEntries(AppendEntries ae) {
        if (!indexInRange(ae.prevLogIndex()) || !indexInRange(ae.leaderCommit())) {
            return Reason.INDEX_OUT_OF_RANGE;
        }
        if (ae.prevLogTerm() < 0) {
            return Reason.TERM_OUT_OF_RANGE;
        }
        if (ae.prevLogTerm() > ae.term()) {
            return Reason.LOG_TERM_ABOVE_MESSAGE_TERM;
        }
        List<Entry> entries = ae.entries();
        if (entries.size() > MAX_INDEX - ae.prevLogIndex()) {
            return Reason.INDEX_OUT_OF_RANGE;
        }
        long expectedIndex = ae.prevLogIndex() + 1;
        long previousTerm = ae.prevLogTerm();
        for (int i = 0, n = entries.size(); i < n; i++) {
            Entry e = entries.get(i);
            if (e.index() != expectedIndex++) {
                return Reason.ENTRIES_NOT_CONTIGUOUS;
            }
            if (e.term() > ae.term()) {
                return Reason.LOG_TERM_ABOVE_MESSAGE_TERM;
            }
            if (e.term() < previousTerm) {
                return Reason.ENTRY_TERMS_DECREASE;
            }
            if (e.type() == EntryType.CONFIGURATION && !isValidConfiguration(e.data())) {
                return Reason.MALFORMED_CONFIGURATION;
            }
            previousTerm = e.term();
        }
        return null;
    }

    private static Reason checkAppendEntriesReply(AppendEntriesReply r) {
        if (!indexInRange(r.prevLogIndex())) {
            return Reason.INDEX_OUT_OF_RANGE;
        }
        if (r.success()) {
            if (!indexInRange(r.matchIndex())) {
                return Reason.INDEX_OUT_OF_RANGE;
            }
            // The entries acknowledged run from prevLogIndex on (or to the follower's commit index beyond it).
            return r.matchIndex() < r.prevLogIndex() ? Reason.MALFORMED_REPLY : null;
        }
        if (!indexInRange(r.conflictIndex())) {
            return Reason.INDEX_OUT_OF_RANGE;
        }
        if (r.conflictTerm() < 0 || r.conflictTerm() > r.term()) {
            return Reason.TERM_OUT_OF_RANGE;
        }
        // The hint names an index at or before the rejected prevLogIndex, and never index 0, which
        // every log holds (so a rejection of prevLogIndex 0 cannot exist).
        return r.conflictIndex() < 1 || r.conflictIndex() > r.prevLogIndex() ? Reason.MALFORMED_REPLY : null;
    }

    /**
     * Whether AppendEntries disagrees with what the receiver knows is committed: its prevLogTerm or
     * one of its entries names another term at an index up to the receiver's commitIndex. By Leader
     * Completeness (§5.4) no correct leader sends that, so it is refused and counted rather than
     * stopping the node; the committed entries stay as they are.
     */
    static Reason checkAgainstCommitted(AppendEntries ae, RaftLog log) {
        long commit = log.commitIndex();
        long prev = ae.prevLogIndex();
        if (prev > commit) {
            return null;
        }
        long ours = log.term(prev);
        if (ours >= 0 && ours != ae.prevLogTerm()) {
            return Reason.CONFLICTS_WITH_COMMITTED_ENTRY;
        }
        List<Entry> entries = ae.entries();
        long overlap = Math.min(entries.size(), commit - prev);
        for (int i = 0; i < overlap; i++) {
            Entry e = entries.get(i);
            long t = log.term(e.index());
            if (t >= 0 && t != e.term()) {
                return Reason.CONFLICTS_WITH_COMMITTED_ENTRY;
            }
        }
        return null;
    }

    /**
     * A leader's check of an AppendEntries reply against its own log: a follower can neither hold
     * nor have been asked about an index past the leader's last (the leader never truncates its own
     * log, Figure 3 Leader Append-Only), so such a reply is invented. Counting it would let one
     * member push the commit index past the leader's log.
     */
    static Reason checkAgainstLeaderLog(AppendEntriesReply r, long leaderLastIndex) {
        long claimed = r.success() ? r.matchIndex() : r.prevLogIndex();
        return claimed > leaderLastIndex ? Reason.REPLY_BEYOND_LEADER_LOG : null;
    }

    /**
     * Whether a configuration entry's payload is one a leader could have written: it decodes, and
     * names at least one voter (no change may remove the last one, thesis §4.1).
     */
    static boolean isValidConfiguration(byte[] data) {
        try {
            return !Configuration.decode(data).voters().isEmpty();
        } catch (Configuration.MalformedConfigurationException e) {
            return false;
        }
    }

    /** A follower's check of a TimeoutNow: only its leader may ask it to campaign (thesis §3.10). */
    static Reason checkTimeoutNow(TimeoutNow t, String leaderId) {
        return t.from().equals(leaderId) ? null : Reason.TIMEOUT_NOW_NOT_FROM_LEADER;
    }

    /** Whether {@code term} raises {@code currentTerm} by more than {@link #MAX_TERM_JUMP}. */
    static Reason checkTermJump(long term, long currentTerm) {
        return term - currentTerm > MAX_TERM_JUMP ? Reason.TERM_JUMP_TOO_LARGE : null;
    }

    /** A leader's check of a heartbeat reply: it may confirm only a ReadIndex round already started. */
    static Reason checkReadRound(HeartbeatReply r, long currentReadRound) {
        return r.readRound() > currentReadRound ? Reason.READ_ROUND_NOT_STARTED : null;
    }

    /** A follower's check of a ReadIndex answer: only the leader it asked, which is its leader, answers. */
    static Reason checkReadIndexReply(ReadIndexReply r, String leaderId) {
        return r.from().equals(leaderId) ? null : Reason.READ_REPLY_NOT_FROM_LEADER;
    }

    static boolean termInRange(long term) {
        return term >= 0 && term <= MAX_TERM;
    }

    static boolean indexInRange(long index) {
        return index >= 0 && index <= MAX_INDEX;
    }
}
