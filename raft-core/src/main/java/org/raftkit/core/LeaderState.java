package org.raftkit.core;

import java.util.ArrayDeque;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

import org.raftkit.core.Configuration.Member;

/**
 * State that exists only while a node leads (Figure 2 "Volatile state on leaders", reinitialized
 * after election): one {@link Progress} per other member of the latest configuration (voters and
 * learners alike, thesis §4.2.1), and the ReadIndex round counter.
 *
 * <p>Invariant: the progress map holds every member of the latest configuration other than this
 * node, and nobody else except, until C<sub>new</sub> commits, the members C<sub>new</sub> removed
 * ({@link #checkMembers}): they go on receiving the log so they learn of C<sub>new</sub>, stop
 * counting themselves as voters, and stay quiet (thesis §4.2.2).
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

    // Lease-based reads (thesis §6.4.1): when each round was sent, and what a majority confirmed.
    /** Most rounds remembered while unconfirmed; older ones are forgotten (they only give an older lease). */
    private static final int MAX_ROUNDS_REMEMBERED = 64;
    /** {round, tick sent}, oldest first: only kept with {@code RaftConfig.leaseReads}. */
    private final ArrayDeque<long[]> roundsSent = new ArrayDeque<>();
    /** Rounds below this give no lease: sent before the configuration changed or time was lost. */
    private long leaseFromRound = 1;
    /** The tick at which the latest round a majority confirmed was sent; -1 if none gives a lease. */
    private long leaseStartTick = -1;
    /** TimeoutNow was sent this term: a transfer's election ignores leases, so none holds from now on. */
    private boolean leaseForfeited;

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

    /**
     * The leader appended configuration {@code c} at {@code index}: replicate to its new members
     * too, starting with that entry (a probe that finds their log shorter backs off from there).
     * Members it removes stay until {@link #dropNonMembers} (C<sub>new</sub> committed).
     */
    void trackMembers(Configuration c, long nextIndex) {
        for (Member m : c.allMembers()) {
            if (!m.id().equals(node.id) && !progress.containsKey(m.id())) {
                progress.put(m.id(), new Progress(m.id(), nextIndex, node.config.maxInflightMessages(),
                        node.config.maxInflightBytes()));
            }
        }
        votersOf = null; // the cached voter arrays name Progress objects: rebuild them
        // A lease confirmed by the old voters need not hold among the new ones: start over.
        dropLease();
    }

    /** The latest configuration {@code c} is committed: stop replicating to servers outside it. */
    void dropNonMembers(Configuration c) {
        progress.keySet().removeIf(peer -> !c.contains(peer));
        votersOf = null; // the cached voter arrays name Progress objects: rebuild them
    }

    long readRound() {
        return readRound;
    }

    /** Starts a new confirmation round and returns its number. */
    long nextReadRound() {
        ++readRound;
        if (node.config.leaseReads()) {
            if (roundsSent.size() == MAX_ROUNDS_REMEMBERED) {
                roundsSent.pollFirst();
            }
            roundsSent.addLast(new long[] {readRound, node.ticks});
        }
        return readRound;
    }

    /**
     * Rounds up to {@code confirmed} were acknowledged by a majority: the lease runs from when the
     * latest of them was sent. Every member of that majority refuses to vote for the minimum election
     * timeout after it heard the round (thesis §4.2.3), so no other leader can be elected before then.
     */
    void onRoundConfirmed(long confirmed) {
        while (!roundsSent.isEmpty() && roundsSent.peekFirst()[0] <= confirmed) {
            long[] sent = roundsSent.pollFirst();
            if (sent[0] >= leaseFromRound) {
                leaseStartTick = Math.max(leaseStartTick, sent[1]);
            }
        }
    }

    /**
     * Whether a read may be answered from this leader's commit index without a round of its own
     * (thesis §6.4.1): lease reads are on, no transfer was started this term, and a round sent
     * fewer than {@code RaftConfig.leaseTicks()} ticks ago was confirmed by a majority.
     */
    boolean leaseHolds() {
        return node.config.leaseReads() && !leaseForfeited && leaseStartTick >= 0
                && node.ticks - leaseStartTick < node.config.leaseTicks();
    }

    /** Rounds sent so far give no lease; one sent from now on may. */
    void dropLease() {
        leaseStartTick = -1;
        leaseFromRound = readRound + 1;
        roundsSent.clear();
    }

    /**
     * TimeoutNow was sent: the target's election does not wait for leases to run out (thesis
     * §3.10), so none holds for the rest of this term, even if the transfer fails.
     */
    void forfeitLease() {
        leaseForfeited = true;
        dropLease();
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

    /**
     * @param c        the latest configuration
     * @param previous the one before it, whose members may still be replicated to while {@code c}
     *                 is not committed; null once it is
     */
    void checkMembers(Configuration c, Configuration previous) {
        for (Member m : c.allMembers()) {
            if (!m.id().equals(node.id) && !progress.containsKey(m.id())) {
                throw new IllegalStateException(node.id + ": no progress for member " + m.id() + " of " + c);
            }
        }
        for (String peer : progress.keySet()) {
            if (!c.contains(peer) && (previous == null || !previous.contains(peer))) {
                throw new IllegalStateException(node.id + ": progress for " + peer + ", not a member of " + c
                        + (previous == null ? "" : " nor of " + previous));
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
