package org.raftkit.core;

import java.util.HashMap;
import java.util.Map;

/**
 * State that exists only while a node leads (Figure 2 "Volatile state on leaders", reinitialized
 * after election): one {@link Progress} per follower, and the ReadIndex round counter.
 */
final class LeaderState {

    private final RaftNode node;
    private final Map<String, Progress> progress = new HashMap<>();
    /** Reusable buffer for the quorum computations, one slot per voter. */
    private final long[] scratch;

    /**
     * The latest ReadIndex confirmation round. Each heartbeat carries the current round; a round is
     * confirmed once a majority (counting the leader) has answered a heartbeat of that round or later.
     */
    private long readRound;

    LeaderState(RaftNode node, long nextIndex) {
        this.node = node;
        for (String peer : node.peers) {
            progress.put(peer, new Progress(peer, nextIndex, node.config.maxInflightMessages(),
                    node.config.maxInflightBytes()));
        }
        this.scratch = new long[node.voters.size()];
    }

    Progress progress(String peer) {
        Progress pr = progress.get(peer);
        if (pr == null) {
            throw new IllegalStateException(node.id + ": no progress for " + peer);
        }
        return pr;
    }

    long readRound() {
        return readRound;
    }

    /** Starts a new confirmation round and returns its number. */
    long nextReadRound() {
        return ++readRound;
    }

    /** The highest index durable on a majority, counting the leader's own durable index. */
    long quorumMatchIndex() {
        scratch[0] = node.log.durableIndex();
        int i = 1;
        for (String peer : node.peers) {
            scratch[i++] = progress.get(peer).matchIndex;
        }
        return Quorum.committedIndexSorting(scratch);
    }

    /** The highest read round confirmed by a majority, the leader counting for the current one. */
    long quorumReadRound() {
        scratch[0] = readRound;
        int i = 1;
        for (String peer : node.peers) {
            scratch[i++] = progress.get(peer).readRoundAcked;
        }
        return Quorum.committedIndexSorting(scratch);
    }

    /** CheckQuorum: whether a majority (counting the leader) was heard from since the last check; resets the marks. */
    boolean quorumActive() {
        int active = 1;
        for (Progress pr : progress.values()) {
            if (pr.recentActive) {
                active++;
            }
            pr.recentActive = false;
        }
        return active >= Quorum.majority(node.voters.size());
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
