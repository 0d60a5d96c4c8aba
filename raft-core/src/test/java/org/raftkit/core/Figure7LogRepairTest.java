package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.raftkit.Role;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.RaftMessage;
import org.raftkit.message.RequestVoteReply;

/**
 * Figure 7 of the Raft paper (§5.3): "When the leader at the top comes to power, it is possible
 * that any of scenarios (a–f) could occur in follower logs." The leader forces every follower's
 * log to match its own; with the conflict hint at the end of §5.3 it needs about one rejected
 * AppendEntries per conflicting term, not one per entry.
 *
 * <pre>
 *   index     1 2 3 4 5 6 7 8 9 10 11 12
 *   leader    1 1 1 4 4 5 5 6 6 6           (comes to power in term 8)
 *   (a)       1 1 1 4 4 5 5 6 6             missing one entry
 *   (b)       1 1 1 4                       missing many
 *   (c)       1 1 1 4 4 5 5 6 6 6 6         one extra uncommitted entry
 *   (d)       1 1 1 4 4 5 5 6 6 6 7 7       extra entries of a later term
 *   (e)       1 1 1 4 4 4 4                 missing entries, extra entries of term 4
 *   (f)       1 1 1 2 2 2 3 3 3 3 3         led terms 2 and 3, crashed before committing
 * </pre>
 */
class Figure7LogRepairTest {

    private static final long[] LEADER = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};

    /** The leader's log once it has appended the no-op of term 8 (§8). */
    private static final List<Long> LEADER_AFTER_ELECTION = List.of(1L, 1L, 1L, 4L, 4L, 5L, 5L, 6L, 6L, 6L, 8L);

    /**
     * All seven servers of the figure. The leader saved term 7 and campaigns in term 8. It wins
     * with the votes of (a), (b), (e) and (f); (c) has a longer log of the same last term and (d)
     * a later last term, so §5.4.1 makes both refuse.
     */
    private static ScenarioCluster figure7() {
        return ScenarioCluster.builder("leader", "a", "b", "c", "d", "e", "f")
                .log("leader", LEADER).term("leader", 7)
                .log("a", 1, 1, 1, 4, 4, 5, 5, 6, 6)
                .log("b", 1, 1, 1, 4)
                .log("c", 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6)
                .log("d", 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7)
                .log("e", 1, 1, 1, 4, 4, 4, 4)
                .log("f", 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3)
                .build();
    }

    private static long rejectionsFrom(ScenarioCluster cluster, String follower) {
        return cluster.delivered().stream()
                .filter(m -> m instanceof AppendEntriesReply r && !r.success() && r.from().equals(follower))
                .count();
    }

    @ParameterizedTest(name = "Figure 7 ({0}): log repaired to the leader''s after at most {1} rejected AppendEntries")
    @CsvSource({
            // case, most rejections: one per conflicting term, plus one when the follower is short
            "a, 1",  // short by one entry: one rejection names its last index + 1
            "b, 1",  // short by six: still one rejection, not six
            "c, 0",  // holds prevLogIndex 10 with term 6; the no-op overwrites its extra entry 11
            "d, 0",  // likewise; entries 11 and 12 of term 7 are overwritten
            "e, 2",  // short (1), then its term-4 run 6..7 conflicts (1)
            "f, 2",  // conflicting terms 3 and 2: one rejection each
    })
    void divergedFollowerLogIsRepairedInAboutOneRoundTripPerConflictingTerm(String follower, int maxRejections) {
        ScenarioCluster cluster = figure7();

        cluster.electLeader("leader");

        RaftNode leader = cluster.node("leader");
        assertThat(leader.currentTerm()).isEqualTo(8);
        assertThat(cluster.logTerms("leader")).containsExactlyElementsOf(LEADER_AFTER_ELECTION);
        assertThat(cluster.logTerms(follower)).containsExactlyElementsOf(LEADER_AFTER_ELECTION);
        assertThat(cluster.log(follower)).isEqualTo(cluster.log("leader"));
        assertThat(cluster.storedLog(follower)).as("the repaired log is what the follower's disk holds")
                .isEqualTo(cluster.log("leader"));
        assertThat(rejectionsFrom(cluster, follower)).isLessThanOrEqualTo(maxRejections);

        // The no-op of term 8 is on all seven, so it and everything before it is committed
        // (§5.4.2). A follower repaired after the commit hears the commit index with the next
        // heartbeat.
        cluster.runTicks(cluster.config().heartbeatIntervalTicks());
        assertThat(cluster.node(follower).commitIndex()).isEqualTo(11);
        assertThat(cluster.applied(follower)).isEqualTo(cluster.log("leader"));
    }

    @Test
    void figure7LeaderIsElectedOverTheObjectionsOfCAndD() {
        ScenarioCluster cluster = figure7();

        cluster.electLeader("leader");

        List<RaftMessage> refusals = cluster.delivered().stream()
                .filter(m -> m instanceof RequestVoteReply r && !r.voteGranted())
                .toList();
        assertThat(refusals).extracting(RaftMessage::from).containsOnly("c", "d");
        assertThat(cluster.node("leader").role()).isEqualTo(Role.LEADER);
    }

    @Test
    void figure7AllSixFollowersConvergeTogether() {
        ScenarioCluster cluster = figure7();

        cluster.electLeader("leader");

        for (String follower : List.of("a", "b", "c", "d", "e", "f")) {
            assertThat(cluster.log(follower)).as("follower (%s)", follower).isEqualTo(cluster.log("leader"));
            assertThat(cluster.node(follower).role()).isEqualTo(Role.FOLLOWER);
            assertThat(cluster.node(follower).leaderId()).isEqualTo("leader");
        }
        long totalRejections = cluster.delivered().stream()
                .filter(m -> m instanceof AppendEntriesReply r && !r.success())
                .count();
        assertThat(totalRejections).as("one rejection per conflicting term, summed over (a)-(f)").isLessThanOrEqualTo(6);
    }
}
