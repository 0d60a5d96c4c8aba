package org.raftkit.sim;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.raftkit.core.Configuration;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
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
 *   <li>Membership (thesis §4.3): the committed configurations form a chain in which each is a
 *       one-step successor of the one before (C to C<sub>old,new</sub> with C as its outgoing part;
 *       C<sub>old,new</sub> to its C<sub>new</sub>; or C to a configuration with the same voters).
 *       A server wins an election only with a configuration that is the latest committed one,
 *       C<sub>c</sub>, or a one-step successor of it, and no quorum of its configuration is
 *       disjoint from a quorum of C<sub>c</sub>: every decision anyone can make intersects every
 *       decision made under C<sub>c</sub>, so two leaders cannot decide independently (the
 *       thesis's argument: C<sub>old</sub> and C<sub>new</sub> never decide alone at once).
 *       Election Safety above is checked across configurations.</li>
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
    /** The latest committed configuration, C_c, and the index of its entry (0: the initial one). */
    private Configuration committedConfiguration;
    private long committedConfigurationIndex;
    /** Every server that was a member of a committed configuration. */
    private final Set<String> everMember = new LinkedHashSet<>();
    /** How many configuration changes committed (for the run's summary). */
    private int committedChanges;

    /**
     * For a cluster whose initial configuration this checker is not told (the whole-node
     * simulation, whose membership is fixed): the first committed configuration entry, if any,
     * starts the chain, and leaders' configurations are not checked until then.
     */
    SafetyChecker() {
        this.committedConfiguration = null;
    }

    SafetyChecker(Configuration initial) {
        this.committedConfiguration = initial;
        everMember.addAll(ids(initial));
    }

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
            if (e.type() == EntryType.CONFIGURATION && e.index() > committedConfigurationIndex) {
                onConfigurationCommitted(node, e);
            }
        }
    }

    /**
     * A configuration entry committed for the first time. Each node reports its committed entries
     * in index order with no gap (there are no snapshots in this simulation), so the previous
     * committed configuration is the one recorded.
     */
    private void onConfigurationCommitted(String node, Entry e) {
        Configuration next = Configuration.decode(e.data());
        if (committedConfiguration != null && !isSuccessor(committedConfiguration, next)) {
            throw new SafetyViolation("Configuration chain: " + node + " committed " + next + " at " + e.index()
                    + ", not a one-step successor of the committed " + committedConfiguration + " at "
                    + committedConfigurationIndex);
        }
        committedConfiguration = next;
        committedConfigurationIndex = e.index();
        everMember.addAll(ids(next));
        committedChanges++;
    }

    /**
     * A server became leader using configuration {@code used}: it must be C_c or one step after it,
     * and share a server with every quorum of C_c.
     */
    void checkLeaderConfiguration(String node, long term, Configuration used) {
        if (committedConfiguration == null) {
            return;
        }
        if (!used.equals(committedConfiguration) && !isSuccessor(committedConfiguration, used)) {
            throw new SafetyViolation("Configuration: " + node + " leads term " + term + " with " + used
                    + ", neither the committed " + committedConfiguration + " nor one step after it");
        }
        if (haveDisjointQuorums(used, committedConfiguration)) {
            throw new SafetyViolation("Disjoint quorums: " + node + " leads term " + term + " with " + used
                    + ", which has a quorum disjoint from one of the committed " + committedConfiguration);
        }
    }

    /** The one-step rule of thesis §4.3 (and a change of learners or addresses alone). */
    static boolean isSuccessor(Configuration prev, Configuration next) {
        if (prev.isJoint()) {
            return next.equals(prev.target());
        }
        if (next.isJoint()) {
            return next.outgoing().equals(prev.members());
        }
        return next.voters().equals(prev.voters());
    }

    /**
     * Whether some quorum of {@code a} and some quorum of {@code b} share no server. By brute force
     * over the servers of both (a few): a quorum of {@code a} whose complement holds a quorum of {@code b}.
     */
    static boolean haveDisjointQuorums(Configuration a, Configuration b) {
        List<String> servers = new ArrayList<>(ids(a));
        for (String id : ids(b)) {
            if (!servers.contains(id)) {
                servers.add(id);
            }
        }
        int n = servers.size();
        for (int mask = 0; mask < 1 << n; mask++) {
            Set<String> q = new java.util.HashSet<>();
            Set<String> rest = new java.util.HashSet<>();
            for (int i = 0; i < n; i++) {
                ((mask >> i & 1) == 1 ? q : rest).add(servers.get(i));
            }
            if (org.raftkit.core.Quorum.isQuorum(a, q::contains) && org.raftkit.core.Quorum.isQuorum(b, rest::contains)) {
                return true;
            }
        }
        return false;
    }

    private static Set<String> ids(Configuration c) {
        Set<String> out = new LinkedHashSet<>();
        for (Configuration.Member m : c.allMembers()) {
            out.add(m.id());
        }
        return out;
    }

    /** The latest committed configuration. */
    Configuration committedConfiguration() {
        return committedConfiguration;
    }

    /** Whether {@code id} was ever a member of a committed configuration. */
    boolean wasEverMember(String id) {
        return everMember.contains(id);
    }

    int committedChanges() {
        return committedChanges;
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
