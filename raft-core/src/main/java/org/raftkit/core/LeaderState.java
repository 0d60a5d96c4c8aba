package org.raftkit.core;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

import org.raftkit.core.Configuration.Member;

/**
 * State that exists only while a node leads (Figure 2 "Volatile state on leaders", reinitialized
 * after election): one {@link Progress} per other member of the latest configuration (voters and
 * learners alike, thesis §4.2.1), and the ReadIndex round counter.
 *
 * <p>Invariant: the progress map holds exactly the members of the latest configuration other than
 * this node ({@link #checkMembers}); it follows every configuration the leader appends.
 */
final class LeaderState {

    private final RaftNode node;
    private final Map<String, Progress> progress = new LinkedHashMap<>();

    /**
     * The latest ReadIndex confirmation round. Each heartbeat carries the current round; a round is
     * confirmed once a quorum (counting the leader if it votes) has answered a heartbeat of that
     * round or later.
     */
    private long readRound;

    LeaderState(RaftNode node, long nextIndex) {
        this.node = node;
        trackMembers(node.membership.current(), nextIndex);
    }

    /** The progress of {@code peer}, or null if it is not a member of the latest configuration. */
    Progress progress(String peer) {
        return progress.get(peer);
    }

    /** Every follower and learner the leader replicates to. */
    Collection<Progress> followers() {
        return progress.values();
    }

    /** The leader appended configuration {@code c}: replicate to its new members, stop sending to those gone. */
    void trackMembers(Configuration c) {
        trackMembers(c, node.log.lastIndex() + 1);
    }

    private void trackMembers(Configuration c, long nextIndex) {
        Map<String, Progress> kept = new LinkedHashMap<>();
        for (Member m : c.allMembers()) {
            if (m.id().equals(node.id)) {
                continue;
            }
            Progress pr = progress.get(m.id());
            kept.put(m.id(), pr != null ? pr : new Progress(m.id(), nextIndex, node.config.maxInflightMessages(),
                    node.config.maxInflightBytes()));
        }
        progress.clear();
        progress.putAll(kept);
        votersOf = null; // the cached voter arrays name Progress objects: rebuild them
    }

    long readRound() {
        return readRound;
    }

    /** Starts a new confirmation round and returns its number. */
    long nextReadRound() {
        return ++readRound;
    }

    /**
     * The highest index durable on a quorum of the latest configuration (both majorities while
     * joint, the lower of the two: thesis §4.3), the leader counting its own durable index if it
     * is a voter. On the hot path (every acknowledgement), so it works on arrays cached per
     * configuration rather than allocating.
     */
    long quorumMatchIndex() {
        refreshVoters();
        long own = node.log.durableIndex();
        long index = majorityIndex(newVoters, scratchNew, own, false);
        if (oldVoters != null) {
            index = Math.min(index, majorityIndex(oldVoters, scratchOld, own, false));
        }
        return index;
    }

    /** The highest read round confirmed by a quorum, the leader counting for the current one. */
    long quorumReadRound() {
        refreshVoters();
        long index = majorityIndex(newVoters, scratchNew, readRound, true);
        if (oldVoters != null) {
            index = Math.min(index, majorityIndex(oldVoters, scratchOld, readRound, true));
        }
        return index;
    }

    private Configuration votersOf;
    /** Voters of C_new (or the only configuration), as Progress (null for the leader itself). */
    private Progress[] newVoters;
    /** Voters of C_old while joint, else null. */
    private Progress[] oldVoters;
    private long[] scratchNew;
    private long[] scratchOld;

    private void refreshVoters() {
        Configuration c = node.membership.current();
        if (c == votersOf) {
            return;
        }
        votersOf = c;
        newVoters = progressOf(c.voters());
        scratchNew = new long[newVoters.length];
        oldVoters = c.isJoint() ? progressOf(c.outgoingVoters()) : null;
        scratchOld = oldVoters == null ? null : new long[oldVoters.length];
    }

    private Progress[] progressOf(java.util.Set<String> voters) {
        Progress[] out = new Progress[voters.size()];
        int i = 0;
        for (String v : voters) {
            Progress pr = progress.get(v);
            if (pr == null && !v.equals(node.id)) {
                throw new IllegalStateException(node.id + ": no progress for voter " + v);
            }
            out[i++] = pr; // null stands for the leader itself
        }
        return out;
    }

    private static long majorityIndex(Progress[] voters, long[] scratch, long own, boolean readRounds) {
        if (voters.length == 0) {
            return 0;
        }
        for (int i = 0; i < voters.length; i++) {
            Progress pr = voters[i];
            scratch[i] = pr == null ? own : readRounds ? pr.readRoundAcked : pr.matchIndex;
        }
        return Quorum.committedIndexSorting(scratch);
    }

    /** Whether the leader alone is a quorum (a one-voter cluster): nothing to wait for. */
    boolean aloneIsQuorum() {
        return Quorum.isQuorum(node.membership.current(), id -> id.equals(node.id));
    }

    /** CheckQuorum: whether a quorum (counting the leader) was heard from since the last check; resets the marks. */
    boolean quorumActive() {
        boolean active = Quorum.isQuorum(node.membership.current(), id -> {
            if (id.equals(node.id)) {
                return true;
            }
            Progress pr = progress.get(id);
            return pr != null && pr.recentActive;
        });
        for (Progress pr : progress.values()) {
            pr.recentActive = false;
        }
        return active;
    }

    void checkMembers(Configuration c) {
        for (Member m : c.allMembers()) {
            if (!m.id().equals(node.id) && !progress.containsKey(m.id())) {
                throw new IllegalStateException(node.id + ": no progress for member " + m.id() + " of " + c);
            }
        }
        for (String peer : progress.keySet()) {
            if (!c.contains(peer)) {
                throw new IllegalStateException(node.id + ": progress for " + peer + ", not a member of " + c);
            }
        }
    }

    void checkInvariants() {
        long next = node.log.lastIndex() + 1;
        for (Progress pr : progress.values()) {
            pr.checkInvariants();
            if (pr.nextIndex > next) {
                throw new IllegalStateException(node.id + ": " + pr + " nextIndex beyond lastIndex + 1 = " + next);
            }
            // MessageValidator refuses acknowledgements past the leader's log, so this holds even
            // against a member that lies.
            if (pr.matchIndex >= next) {
                throw new IllegalStateException(node.id + ": " + pr + " matchIndex beyond lastIndex " + (next - 1));
            }
        }
    }

    @Override
    public String toString() {
        return "LeaderState" + progress.values();
    }
}
