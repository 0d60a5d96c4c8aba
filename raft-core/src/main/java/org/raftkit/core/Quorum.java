package org.raftkit.core;

import java.util.Arrays;

/**
 * Majority arithmetic (§5.2, §5.3), kept apart so it can be tested exhaustively.
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
}
