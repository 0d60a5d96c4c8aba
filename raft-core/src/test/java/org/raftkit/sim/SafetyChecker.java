package org.raftkit.sim;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.raftkit.message.Entry;
import org.raftkit.spi.TermVoteStore.TermAndVote;

/**
 * The Raft safety properties (Figure 3), checked as the simulation runs. Each check is
 * incremental, so it can run after every step:
 * <ul>
 *   <li>Election Safety: at most one leader per term.</li>
 *   <li>Log Matching: two entries with the same index and term are the same entry, and the entries
 *       before them have the same terms (so, by induction, the logs are identical up to there).</li>
 *   <li>Leader Completeness: a new leader holds every entry committed before it was elected.</li>
 *   <li>State Machine Safety: every node applies the same entry at a given index.</li>
 *   <li>Durable term and vote never go backwards, and a durable vote never changes within a term.</li>
 * </ul>
 * A violation throws {@link SafetyViolation}.
 */
final class SafetyChecker {

    /** A broken safety property. */
    static final class SafetyViolation extends RuntimeException {
        private static final long serialVersionUID = 1L;

        SafetyViolation(String message) {
            super(message);
        }
    }

    private final Map<Long, String> leaderOfTerm = new HashMap<>();
    /** (index, term) → the entry and the term before it, the first time any node held it. */
    private final Map<IndexTerm, Seen> seen = new HashMap<>();
    /** index → the committed entry at that index, as first committed anywhere. */
    private final Map<Long, Entry> committed = new HashMap<>();
    private long highestCommitted;
    private final Map<String, TermAndVote> durableHardState = new HashMap<>();

    private record IndexTerm(long index, long term) {
    }

    private record Seen(Entry entry, long prevTerm, String node) {
    }

    void onLeader(String node, long term) {
        String other = leaderOfTerm.putIfAbsent(term, node);
        if (other != null && !other.equals(node)) {
            throw new SafetyViolation("Election Safety: both " + other + " and " + node + " led term " + term);
        }
    }

    /** Entries entering a node's log, the first one after an entry of {@code prevTerm}. */
    void onEntriesInLog(String node, long prevTerm, List<Entry> entries) {
        long before = prevTerm;
        for (Entry e : entries) {
            Seen s = seen.putIfAbsent(new IndexTerm(e.index(), e.term()), new Seen(e, before, node));
            if (s != null && (!s.entry.equals(e) || s.prevTerm != before)) {
                throw new SafetyViolation("Log Matching: " + node + " holds " + e + " after term " + before + " but "
                        + s.node + " held " + s.entry + " after term " + s.prevTerm);
            }
            before = e.term();
        }
    }

    /** A node's commit index moved to {@code commitIndex}; {@code entries} are its entries now committed. */
    void onCommitted(String node, List<Entry> entries) {
        for (Entry e : entries) {
            Entry first = committed.putIfAbsent(e.index(), e);
            if (first != null && !first.equals(e)) {
                throw new SafetyViolation("State Machine Safety: " + node + " committed " + e + " where " + first
                        + " was committed before");
            }
            highestCommitted = Math.max(highestCommitted, e.index());
        }
    }

    /** A node became leader: it must hold every entry committed so far (§5.4.1). */
    void checkLeaderCompleteness(String node, long term, java.util.function.LongUnaryOperator termAt) {
        for (long i = 1; i <= highestCommitted; i++) {
            Entry c = committed.get(i);
            if (c != null && c.term() < term && termAt.applyAsLong(i) != c.term()) {
                throw new SafetyViolation("Leader Completeness: " + node + " leads term " + term + " without committed "
                        + c + " (holds term " + termAt.applyAsLong(i) + " there)");
            }
        }
    }

    /** A node made its term and vote durable. */
    void onHardStateDurable(String node, TermAndVote state) {
        TermAndVote before = durableHardState.put(node, state);
        if (before == null) {
            return;
        }
        if (state.currentTerm() < before.currentTerm()) {
            throw new SafetyViolation(node + " durable term went back from " + before + " to " + state);
        }
        if (state.currentTerm() == before.currentTerm() && before.votedFor() != null
                && !before.votedFor().equals(state.votedFor())) {
            throw new SafetyViolation(node + " changed its durable vote within term " + state.currentTerm() + ": "
                    + before + " -> " + state);
        }
    }

    Entry committedAt(long index) {
        return committed.get(index);
    }

    long highestCommitted() {
        return highestCommitted;
    }
}
