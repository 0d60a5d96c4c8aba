package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.raftkit.RaftConfig;
import org.raftkit.Role;

/**
 * PreVote (thesis §9.6) keeps a server that was cut off from disrupting the cluster when it comes
 * back; CheckQuorum (thesis §6.2) makes a leader that cannot reach a majority step down on its own.
 */
class PreVoteAndCheckQuorumTest {

    /** Ten maximal election timeouts: plenty of chances for a cut-off node to campaign. */
    private static final int LONG_PARTITION_TICKS = 10 * RaftConfig.defaults().electionTimeoutMaxTicks();

    /**
     * Checked with and without CheckQuorum, and for several seeds, because whether the rejoining
     * node's PreVote reaches the leader before the leader's heartbeat reaches it depends on timing.
     */
    @ParameterizedTest(name = "checkQuorum={0} seed={1}")
    @CsvSource({
            "true, 1", "true, 2", "true, 3", "true, 4", "true, 5",
            "false, 1", "false, 2", "false, 3", "false, 4", "false, 5",
    })
    void withPreVoteAPartitionedFollowerRejoinsWithoutRaisingItsTermOrDeposingTheLeader(boolean checkQuorum, long seed) {
        RaftConfig config = RaftConfig.defaults().withCheckQuorum(checkQuorum);
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(config).seed(seed).build();
        cluster.electLeader("n1");
        long term = cluster.node("n1").currentTerm();

        cluster.isolate("n3");
        cluster.runTicks(LONG_PARTITION_TICKS);

        // It kept asking whether it could win (PreVote) and never could, so never raised its term.
        assertThat(cluster.node("n3").currentTerm()).isEqualTo(term);
        assertThat(cluster.node("n3").role()).isIn(Role.FOLLOWER, Role.PRE_CANDIDATE);

        cluster.heal();
        cluster.runTicks(2 * config.electionTimeoutMaxTicks());

        assertThat(cluster.leader()).isEqualTo("n1");
        assertThat(cluster.node("n1").currentTerm()).isEqualTo(term);
        assertThat(cluster.node("n3").role()).isEqualTo(Role.FOLLOWER);
        assertThat(cluster.node("n3").leaderId()).isEqualTo("n1");
        assertThat(cluster.node("n3").currentTerm()).isEqualTo(term);
    }

    @Test
    void withoutPreVoteAPartitionedFollowerRejoinsWithAHigherTermAndDeposesTheLeader() {
        RaftConfig config = RaftConfig.defaults().withPreVote(false).withCheckQuorum(false);
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(config).build();
        cluster.electLeader("n1");
        long term = cluster.node("n1").currentTerm();

        cluster.isolate("n3");
        cluster.runTicks(LONG_PARTITION_TICKS);

        // Each election timeout started a real election in a new term nobody else heard of.
        assertThat(cluster.node("n3").currentTerm()).isGreaterThan(term + 5);
        assertThat(cluster.leader()).isEqualTo("n1");
        assertThat(cluster.node("n1").currentTerm()).isEqualTo(term);

        cluster.heal();
        cluster.runTicks(2 * config.electionTimeoutMaxTicks());

        // Its higher term reached the leader and forced a new election: the disruption PreVote prevents.
        assertThat(cluster.leader()).isNotNull();
        assertThat(cluster.node(cluster.leader()).currentTerm()).isGreaterThan(term + 5);
        assertThat(cluster.node("n1").currentTerm()).isGreaterThan(term);
    }

    @Test
    void withCheckQuorumALeaderCutOffFromTheMajorityStepsDownWithinAnElectionTimeout() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        cluster.runTicks(3 * cluster.config().electionTimeoutMaxTicks());
        long term = cluster.node("n1").currentTerm();

        cluster.isolate("n1");
        int ticks = cluster.runUntil(LONG_PARTITION_TICKS, () -> cluster.node("n1").role() != Role.LEADER);

        // The check runs every minimum election timeout; replies heard just before the cut can
        // carry the leader through one check, never two.
        assertThat(ticks).isBetween(1, 2 * cluster.config().electionTimeoutMinTicks());
        assertThat(cluster.node("n1").currentTerm()).as("it stepped down on its own, not for a higher term")
                .isEqualTo(term);
        assertThat(cluster.node("n1").leaderId()).isNull();
    }

    @Test
    void withoutCheckQuorumALeaderCutOffFromTheMajorityKeepsLeading() {
        RaftConfig config = RaftConfig.defaults().withCheckQuorum(false);
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(config).build();
        cluster.electLeader("n1");
        long term = cluster.node("n1").currentTerm();

        cluster.isolate("n1");
        cluster.runTicks(LONG_PARTITION_TICKS);

        assertThat(cluster.node("n1").role()).isEqualTo(Role.LEADER);
        assertThat(cluster.node("n1").currentTerm()).isEqualTo(term);
        // Meanwhile the majority has moved on without it.
        assertThat(cluster.leaders()).hasSize(2);
        assertThat(cluster.node(cluster.leader()).currentTerm()).isGreaterThan(term);
    }
}
