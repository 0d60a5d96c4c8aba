package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.message.RaftMessage;
import org.raftkit.message.RequestVote;
import org.raftkit.message.RequestVoteReply;

/**
 * Leader election (§5.2), the election restriction (§5.4.1), split votes, the single-node
 * cluster, and the leader lease that makes followers ignore disruptive candidates (thesis §4.2.3).
 */
class ElectionScenariosTest {

    private static final RaftConfig NO_PREVOTE = RaftConfig.defaults().withPreVote(false).withCheckQuorum(false);

    // ---------------------------------------------------------------------------------------------
    // §5.4.1 election restriction
    // ---------------------------------------------------------------------------------------------

    @Test
    void candidateWhoseLastTermIsOlderCannotWin() {
        // n1 missed the entry of term 2 that n2 and n3 hold.
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(NO_PREVOTE)
                .log("n1", 1).term("n1", 2)
                .log("n2", 1, 2)
                .log("n3", 1, 2)
                .build();

        for (int campaign = 0; campaign < 5; campaign++) {
            cluster.tickUntilCampaign("n1");
            cluster.deliverAll();
            assertThat(cluster.node("n1").role()).isNotEqualTo(Role.LEADER);
        }

        assertThat(votesGrantedTo(cluster, "n1")).isEmpty();
        assertThat(cluster.node("n2").votedFor()).isNull();
        assertThat(cluster.node("n3").votedFor()).isNull();
        // Either up-to-date server can still be elected.
        cluster.electLeader("n2");
        assertThat(cluster.logTerms("n1")).startsWith(1L, 2L);
    }

    @Test
    void candidateWithAShorterLogOfTheSameLastTermCannotWin() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(NO_PREVOTE)
                .log("n1", 1, 1)
                .log("n2", 1, 1, 1)
                .log("n3", 1, 1, 1)
                .build();

        for (int campaign = 0; campaign < 5; campaign++) {
            cluster.tickUntilCampaign("n1");
            cluster.deliverAll();
            assertThat(cluster.node("n1").role()).isNotEqualTo(Role.LEADER);
        }

        assertThat(votesGrantedTo(cluster, "n1")).isEmpty();
    }

    @Test
    void voterRejectsACandidateWithAStaleLastTermEvenIfItsLogIsLonger() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3")
                .log("n2", 1, 1, 3).term("n2", 3)
                .build();

        // n1's log is longer (5 entries) but ends in term 2, older than n2's last term 3.
        cluster.inject(new RequestVote("n1", "n2", 4, 5, 2, false));

        assertThat(replyFrom(cluster, "n2", "n1").voteGranted()).isFalse();
        assertThat(cluster.node("n2").currentTerm()).as("§5.1: the higher term is adopted anyway").isEqualTo(4);
        assertThat(cluster.node("n2").votedFor()).isNull();

        // A candidate whose last term matches and whose log is as long gets the vote.
        cluster.inject(new RequestVote("n3", "n2", 4, 3, 3, false));

        assertThat(replyFrom(cluster, "n2", "n3").voteGranted()).isTrue();
        assertThat(cluster.node("n2").votedFor()).isEqualTo("n3");
        assertThat(cluster.savedTermAndVote("n2").votedFor()).as("the vote is durable").isEqualTo("n3");
    }

    @Test
    void voteIsNotSentBeforeItIsDurable() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(NO_PREVOTE).build();
        cluster.holdPersistence("n2");
        cluster.tickUntilCampaign("n1");

        cluster.deliverOnly("n1", "n2");

        assertThat(cluster.node("n2").votedFor()).isEqualTo("n1");
        assertThat(cluster.inFlight()).noneMatch(m -> m.from().equals("n2"));
        assertThat(cluster.savedTermAndVote("n2").votedFor()).isNull();

        cluster.releasePersistence("n2");

        assertThat(cluster.savedTermAndVote("n2").votedFor()).isEqualTo("n1");
        assertThat(cluster.inFlight()).anyMatch(m -> m instanceof RequestVoteReply r && r.from().equals("n2") && r.voteGranted());
    }

    @Test
    void restartedVoterRemembersItsVoteAndRefusesAnotherCandidateInTheSameTerm() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(NO_PREVOTE).build();
        cluster.tickUntilCampaign("n1");
        cluster.drop("n1", "n3");
        cluster.deliverOnly("n1", "n2");
        cluster.drop("n2", "n1"); // n1 never learns it won n2's vote

        cluster.crash("n2");
        cluster.restart("n2");
        assertThat(cluster.node("n2").votedFor()).isEqualTo("n1");
        cluster.tickUntilCampaign("n3");
        assertThat(cluster.node("n3").currentTerm()).isEqualTo(1);
        cluster.deliverOnly("n3", "n2");

        assertThat(replyFrom(cluster, "n2", "n3").voteGranted()).as("§5.2: at most one vote per term").isFalse();
    }

    // ---------------------------------------------------------------------------------------------
    // Split votes
    // ---------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
    void splitVoteIsResolvedByFreshRandomElectionTimeouts(long seed) {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(NO_PREVOTE).seed(seed).build();
        // All three time out before any vote request arrives: each votes for itself in term 1.
        for (String id : cluster.ids()) {
            cluster.tickUntilCampaign(id);
        }
        cluster.deliverAll();
        assertThat(cluster.leaders()).as("nobody can win a three-way split").isEmpty();
        for (String id : cluster.ids()) {
            assertThat(cluster.node(id).currentTerm()).isEqualTo(1);
            assertThat(cluster.node(id).votedFor()).isEqualTo(id);
        }

        int ticks = cluster.runUntil(20 * NO_PREVOTE.electionTimeoutMaxTicks(), () -> cluster.leader() != null);

        assertThat(ticks).as("a leader is elected after the split").isNotNegative();
        assertThat(cluster.leaders()).hasSize(1);
        assertThat(cluster.node(cluster.leader()).currentTerm()).isGreaterThanOrEqualTo(2);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void followersElectANewLeaderWithinAFewElectionTimeoutsAfterTheLeaderCrashes(long seed) {
        RaftConfig config = RaftConfig.defaults();
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4", "n5").config(config).seed(seed).build();
        cluster.electLeader("n1");
        cluster.propose("n1", "a");
        cluster.runTicks(3 * config.heartbeatIntervalTicks());

        cluster.crash("n1");
        int ticks = cluster.runUntil(10 * config.electionTimeoutMaxTicks(), () -> cluster.leader() != null);

        assertThat(ticks).isBetween(config.electionTimeoutMinTicks(), 3 * config.electionTimeoutMaxTicks());
        String leader = cluster.leader();
        assertThat(cluster.node(leader).currentTerm()).isEqualTo(2);
        cluster.runTicks(config.heartbeatIntervalTicks());
        for (String id : List.of("n2", "n3", "n4", "n5")) {
            assertThat(cluster.appliedCommands(id)).containsExactly("a");
            assertThat(cluster.node(id).leaderId()).isEqualTo(leader);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Single-node cluster
    // ---------------------------------------------------------------------------------------------

    @Test
    void singleNodeElectsItselfAndCommitsOnlyOnItsOwnDurableWrite() {
        ScenarioCluster cluster = ScenarioCluster.of("n1");
        RaftNode n1 = cluster.node("n1");
        cluster.holdPersistence("n1");

        cluster.tickUntilCampaign("n1");

        assertThat(n1.role()).isEqualTo(Role.LEADER);
        assertThat(n1.currentTerm()).isEqualTo(1);
        assertThat(n1.lastIndex()).as("the no-op of term 1").isEqualTo(1);
        assertThat(n1.commitIndex()).as("not durable yet, so not on a majority of one").isZero();

        cluster.releasePersistence("n1");
        assertThat(n1.commitIndex()).isEqualTo(1);
        assertThat(cluster.savedTermAndVote("n1").currentTerm()).isEqualTo(1);

        cluster.holdPersistence("n1");
        long index = cluster.propose("n1", "a");
        cluster.tickAll(3 * cluster.config().electionTimeoutMaxTicks());
        assertThat(n1.commitIndex()).isEqualTo(1);
        assertThat(cluster.appliedCommands("n1")).isEmpty();

        cluster.releasePersistence("n1");
        assertThat(n1.commitIndex()).isEqualTo(index);
        assertThat(cluster.appliedCommands("n1")).containsExactly("a");
        assertThat(n1.role()).isEqualTo(Role.LEADER);
    }

    // ---------------------------------------------------------------------------------------------
    // Leader lease (thesis §4.2.3)
    // ---------------------------------------------------------------------------------------------

    @Test
    void followerThatHearsFromItsLeaderIgnoresRequestVoteWithAHigherTerm() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        cluster.runTicks(2 * cluster.config().heartbeatIntervalTicks());
        long term = cluster.node("n1").currentTerm();
        RaftNode n2 = cluster.node("n2");

        cluster.inject(new RequestVote("n3", "n2", term + 5, n2.lastIndex(), n2.lastTerm(), false));

        assertThat(n2.currentTerm()).isEqualTo(term);
        assertThat(n2.votedFor()).isNotEqualTo("n3");
        assertThat(n2.leaderId()).isEqualTo("n1");
        assertThat(cluster.inFlight()).noneMatch(m -> m instanceof RequestVoteReply && m.from().equals("n2"));
        cluster.runTicks(cluster.config().electionTimeoutMaxTicks());
        assertThat(cluster.leader()).isEqualTo("n1");
        assertThat(cluster.node("n1").currentTerm()).isEqualTo(term);
    }

    @Test
    void withoutPreVoteOrCheckQuorumAFollowerAdoptsTheHigherTermOfAnyCandidate() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(NO_PREVOTE).build();
        cluster.electLeader("n1");
        cluster.runTicks(2 * NO_PREVOTE.heartbeatIntervalTicks());
        long term = cluster.node("n1").currentTerm();
        RaftNode n2 = cluster.node("n2");

        cluster.inject(new RequestVote("n3", "n2", term + 5, n2.lastIndex(), n2.lastTerm(), false));

        assertThat(n2.currentTerm()).isEqualTo(term + 5);
        assertThat(n2.votedFor()).isEqualTo("n3");
        assertThat(replyFrom(cluster, "n2", "n3").voteGranted()).isTrue();
    }

    // ---------------------------------------------------------------------------------------------

    private static List<RaftMessage> votesGrantedTo(ScenarioCluster cluster, String candidate) {
        return cluster.sent().stream()
                .filter(m -> m instanceof RequestVoteReply r && r.voteGranted() && r.to().equals(candidate))
                .toList();
    }

    private static RequestVoteReply replyFrom(ScenarioCluster cluster, String from, String to) {
        List<RequestVoteReply> replies = cluster.inFlight().stream()
                .filter(m -> m instanceof RequestVoteReply && m.from().equals(from) && m.to().equals(to))
                .map(RequestVoteReply.class::cast)
                .toList();
        assertThat(replies).as("RequestVoteReply from %s to %s", from, to).hasSize(1);
        return replies.get(0);
    }
}
