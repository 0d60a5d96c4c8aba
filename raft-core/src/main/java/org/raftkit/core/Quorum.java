package org.raftkit.core;

import java.util.Arrays;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * Majority arithmetic (§5.2, §5.3), kept apart so it can be tested exhaustively; and its joint form
 * (thesis §4.3): in C<sub>old,new</sub> a decision needs a majority of C<sub>old</sub>'s voters and,
 * separately, a majority of C<sub>new</sub>'s, so a joint configuration commits at the lower of its
 * two majorities' indexes and wins a vote only when both halves are won. Learners count in none.
 */
public final class Quorum {

    /** The outcome of a vote count. */
    public enum VoteResult { WON, LOST, PENDING }

    private Quorum() {
    }

    /** Size of a majority of {@code voters} nodes. */
    public static int majority(int voters) {
        return voters / 2 + 1;
    }

    /**
     * The highest index stored on a majority: with the match indexes sorted from highest down, the
     * one at position majority - 1. {@code matchIndexes} is not modified.
     */
    public static long committedIndex(long[] matchIndexes) {
        return committedIndexSorting(matchIndexes.clone());
    }

    /** As {@link #committedIndex}, but sorts {@code scratch} in place instead of copying it. */
    static long committedIndexSorting(long[] scratch) {
        if (scratch.length == 0) {
            throw new IllegalArgumentException("no voters");
        }
        Arrays.sort(scratch); // ascending: the majority-th highest sits at length - majority
        return scratch[scratch.length - majority(scratch.length)];
    }

    /** A vote tally: won once a majority granted, lost once a majority can no longer be reached. */
    public static VoteResult voteResult(int voters, int granted, int rejected) {
        int needed = majority(voters);
        if (granted >= needed) {
            return VoteResult.WON;
        }
        if (voters - rejected < needed) {
            return VoteResult.LOST;
        }
        return VoteResult.PENDING;
    }

    // ---------------------------------------------------------------------------------------------
    // Over a configuration (thesis §4.3)
    // ---------------------------------------------------------------------------------------------

    /**
     * The highest index stored on a majority of every voter set of {@code c}: the lower of the two
     * majorities' indexes while joint. {@code matchIndex} gives each voter's index (the leader's
     * own durable index for itself). A configuration with no voters commits nothing beyond 0.
     */
    public static long committedIndex(Configuration c, ToLongFunction<String> matchIndex) {
        long index = committedIndex(c.voters(), matchIndex);
        if (c.isJoint()) {
            index = Math.min(index, committedIndex(c.outgoingVoters(), matchIndex));
        }
        return index;
    }

    private static long committedIndex(Set<String> voters, ToLongFunction<String> matchIndex) {
        if (voters.isEmpty()) {
            return 0;
        }
        long[] scratch = new long[voters.size()];
        int i = 0;
        for (String v : voters) {
            scratch[i++] = matchIndex.applyAsLong(v);
        }
        return committedIndexSorting(scratch);
    }

    /** A vote tally over {@code c}: won once both halves are won, lost once either is lost. */
    public static VoteResult voteResult(Configuration c, Set<String> granted, Set<String> rejected) {
        VoteResult result = voteResult(c.voters(), granted, rejected);
        if (!c.isJoint() || result == VoteResult.LOST) {
            return result;
        }
        VoteResult old = voteResult(c.outgoingVoters(), granted, rejected);
        if (old == VoteResult.LOST) {
            return VoteResult.LOST;
        }
        return result == VoteResult.WON && old == VoteResult.WON ? VoteResult.WON : VoteResult.PENDING;
    }

    private static VoteResult voteResult(Set<String> voters, Set<String> granted, Set<String> rejected) {
        if (voters.isEmpty()) {
            return VoteResult.LOST; // no voter set can be won without voters
        }
        int g = 0;
        int r = 0;
        for (String v : voters) {
            if (granted.contains(v)) {
                g++;
            } else if (rejected.contains(v)) {
                r++;
            }
        }
        return voteResult(voters.size(), g, r);
    }

    /** Whether the servers {@code in} hold a majority of every voter set of {@code c} (CheckQuorum, ReadIndex). */
    public static boolean isQuorum(Configuration c, Predicate<String> in) {
        return isMajority(c.voters(), in) && (!c.isJoint() || isMajority(c.outgoingVoters(), in));
    }

    private static boolean isMajority(Set<String> voters, Predicate<String> in) {
        int count = 0;
        for (String v : voters) {
            if (in.test(v)) {
                count++;
            }
        }
        return !voters.isEmpty() && count >= majority(voters.size());
    }
}
