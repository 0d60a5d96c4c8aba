package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.raftkit.core.Configuration.Member;

/**
 * Joint-consensus quorums (thesis §4.3), checked exhaustively against the definition "a majority
 * of C_old's voters and a majority of C_new's voters": every vote assignment and every match-index
 * assignment over the members of each configuration pair below. Learners count in neither.
 */
class JointQuorumTest {

    private static final List<String> NODES = List.of("a", "b", "c", "d", "e", "f");

    /** C_old, C_new pairs: replace one, replace all, grow, shrink, and a simple configuration. */
    private static final List<Configuration> CONFIGURATIONS = List.of(
            voters("a", "b", "c").jointWith(voters("a", "b", "d")),
            voters("a", "b", "c").jointWith(voters("d", "e", "f")),
            voters("a", "b", "c").jointWith(voters("a", "b", "c", "d", "e")),
            voters("a", "b", "c", "d", "e").jointWith(voters("a")),
            voters("a").jointWith(voters("b", "c")),
            withLearners(voters("a", "b", "c"), "d", "e"),
            voters("a", "b", "c", "d"));

    @Test
    void aVoteIsWonWithBothMajoritiesAndLostOnceEitherIsOutOfReach() {
        long checked = 0;
        for (Configuration c : CONFIGURATIONS) {
            int n = NODES.size();
            for (int code = 0; code < Math.pow(3, n); code++) {
                Set<String> granted = new HashSet<>();
                Set<String> rejected = new HashSet<>();
                int x = code;
                for (String node : NODES) {
                    if (x % 3 == 1) {
                        granted.add(node);
                    } else if (x % 3 == 2) {
                        rejected.add(node);
                    }
                    x /= 3;
                }
                Quorum.VoteResult expected;
                if (isQuorum(c, granted)) {
                    expected = Quorum.VoteResult.WON;
                } else {
                    Set<String> notRejected = new HashSet<>(NODES);
                    notRejected.removeAll(rejected);
                    expected = isQuorum(c, notRejected) ? Quorum.VoteResult.PENDING : Quorum.VoteResult.LOST;
                }
                assertThat(Quorum.voteResult(c, granted, rejected))
                        .as("%s granted=%s rejected=%s", c, granted, rejected).isEqualTo(expected);
                assertThat(Quorum.isQuorum(c, granted::contains)).isEqualTo(isQuorum(c, granted));
                checked++;
            }
        }
        assertThat(checked).isEqualTo(CONFIGURATIONS.size() * 729L);
    }

    @Test
    void aJointConfigurationCommitsAtTheHighestIndexHeldByBothMajorities() {
        for (Configuration c : CONFIGURATIONS) {
            int n = NODES.size();
            for (int code = 0; code < Math.pow(3, n); code++) {
                Map<String, Long> match = new HashMap<>();
                int x = code;
                for (String node : NODES) {
                    match.put(node, (long) (x % 3));
                    x /= 3;
                }
                long expected = 0;
                for (long index = 1; index <= 2; index++) {
                    Set<String> holding = new HashSet<>();
                    for (String node : NODES) {
                        if (match.get(node) >= index) {
                            holding.add(node);
                        }
                    }
                    if (isQuorum(c, holding)) {
                        expected = index;
                    }
                }
                assertThat(Quorum.committedIndex(c, match::get)).as("%s match=%s", c, match).isEqualTo(expected);
            }
        }
    }

    /** The definition: a majority of each voter set (learners are in neither). */
    private static boolean isQuorum(Configuration c, Set<String> servers) {
        return isMajority(c.voters(), servers) && (!c.isJoint() || isMajority(c.outgoingVoters(), servers));
    }

    private static boolean isMajority(Set<String> voters, Set<String> servers) {
        long in = voters.stream().filter(servers::contains).count();
        return 2 * in > voters.size();
    }

    private static Configuration voters(String... ids) {
        return Configuration.ofVoters(List.of(ids));
    }

    private static Configuration withLearners(Configuration c, String... learners) {
        List<Member> ms = new java.util.ArrayList<>(c.members());
        for (String l : learners) {
            ms.add(Member.learner(l, ""));
        }
        return Configuration.of(ms);
    }
}
