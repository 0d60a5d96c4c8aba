package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The majority arithmetic of §5.2 and §5.3, checked exhaustively against the definitions: every
 * match-index array of 1 to 7 voters with values 0..4, and every vote tally of 1 to 7 voters.
 */
class QuorumTest {

    private static final int MAX_VOTERS = 7;
    private static final int MAX_INDEX = 4;

    @Test
    void majorityIsTheSmallestCountThatIsMoreThanHalf() {
        for (int voters = 1; voters <= MAX_VOTERS; voters++) {
            int smallest = 0;
            while (2 * smallest <= voters) {
                smallest++;
            }
            assertThat(Quorum.majority(voters)).as("majority of %d", voters).isEqualTo(smallest);
        }
    }

    @Test
    void committedIndexIsTheHighestIndexStoredOnAMajorityForEveryArrayOfUpToSevenVoters() {
        long checked = 0;
        for (int voters = 1; voters <= MAX_VOTERS; voters++) {
            long[] match = new long[voters];
            do {
                long[] copy = match.clone();
                assertThat(Quorum.committedIndex(match)).as("committedIndex(%s)", Arrays.toString(copy))
                        .isEqualTo(highestIndexOnAMajority(match));
                assertThat(match).as("the input is not modified").isEqualTo(copy);
                checked++;
            } while (next(match));
        }
        // 5 + 25 + ... + 5^7: every array was visited.
        assertThat(checked).isEqualTo(5 + 25 + 125 + 625 + 3125 + 15625 + 78125);
    }

    @ParameterizedTest(name = "committedIndex({0}) = {1}")
    @CsvSource(delimiter = ';', value = {
            "7;             7",  // a single voter is its own majority
            "5 3;           3",  // two voters need both
            "5 3 1;         3",  // the median of three
            "1 3 5;         3",  // order does not matter
            "9 9 0 0;       0",  // two of four is not a majority
            "9 9 9 0;       9",
            "4 4 2 2 0;     2",
            "8 7 6 5 4 3 2; 5",
    })
    void committedIndexExamples(String matchIndexes, long expected) {
        long[] match = Arrays.stream(matchIndexes.trim().split("\\s+")).mapToLong(Long::parseLong).toArray();

        assertThat(Quorum.committedIndex(match)).isEqualTo(expected);
    }

    @Test
    void committedIndexOfNoVotersIsRejected() {
        assertThatThrownBy(() -> Quorum.committedIndex(new long[0])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void voteResultMatchesTheDefinitionForEveryTallyOfUpToSevenVoters() {
        int checked = 0;
        for (int voters = 1; voters <= MAX_VOTERS; voters++) {
            for (int granted = 0; granted <= voters; granted++) {
                for (int rejected = 0; granted + rejected <= voters; rejected++) {
                    assertThat(Quorum.voteResult(voters, granted, rejected))
                            .as("voters=%d granted=%d rejected=%d", voters, granted, rejected)
                            .isEqualTo(voteResultByDefinition(voters, granted, rejected));
                    checked++;
                }
            }
        }
        assertThat(checked).isEqualTo(3 + 6 + 10 + 15 + 21 + 28 + 36);
    }

    @ParameterizedTest(name = "voters={0} granted={1} rejected={2} -> {3}")
    @CsvSource({
            "1, 1, 0, WON",      // a single node votes for itself and wins
            "3, 1, 0, PENDING",
            "3, 2, 0, WON",
            "3, 1, 1, PENDING",  // the last voter decides
            "3, 1, 2, LOST",
            "4, 2, 2, LOST",     // a tie among four loses: two is not a majority
            "4, 2, 1, PENDING",
            "5, 2, 2, PENDING",
            "5, 2, 3, LOST",
            "5, 3, 2, WON",
    })
    void voteResultExamples(int voters, int granted, int rejected, Quorum.VoteResult expected) {
        assertThat(Quorum.voteResult(voters, granted, rejected)).isEqualTo(expected);
    }

    // ---------------------------------------------------------------------------------------------
    // The definitions, written as plainly as possible
    // ---------------------------------------------------------------------------------------------

    /** The largest N such that more than half the voters have matchIndex >= N (N = 0 always qualifies). */
    private static long highestIndexOnAMajority(long[] match) {
        long best = 0;
        for (long n = 0; n <= MAX_INDEX; n++) {
            int holding = 0;
            for (long m : match) {
                if (m >= n) {
                    holding++;
                }
            }
            if (2 * holding > match.length) {
                best = n;
            }
        }
        return best;
    }

    /** Won if more than half granted; lost if even every voter yet to answer granting would not be enough. */
    private static Quorum.VoteResult voteResultByDefinition(int voters, int granted, int rejected) {
        if (2 * granted > voters) {
            return Quorum.VoteResult.WON;
        }
        int undecided = voters - granted - rejected;
        if (2 * (granted + undecided) <= voters) {
            return Quorum.VoteResult.LOST;
        }
        return Quorum.VoteResult.PENDING;
    }

    /** Advances {@code digits} to the next array in base MAX_INDEX + 1; false after the last. */
    private static boolean next(long[] digits) {
        for (int i = 0; i < digits.length; i++) {
            if (digits[i] < MAX_INDEX) {
                digits[i]++;
                return true;
            }
            digits[i] = 0;
        }
        return false;
    }
}
