package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.core.Configuration.Member;
import org.raftkit.core.LeadershipTransfer.Outcome;
import org.raftkit.core.LeadershipTransfer.Refusal;
import org.raftkit.core.LeadershipTransfer.Result;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.RequestVote;
import org.raftkit.message.TimeoutNow;

/** Leadership transfer (thesis §3.10): TimeoutNow, and the rules around it in {@link LeadershipTransfer}. */
class LeadershipTransferTest {

    @Test
    void anUpToDateTargetWinsAtOnceDespiteTheLeaseOfTheOldLeader() {
        // Defaults: PreVote and CheckQuorum on, so voters ignore ordinary RequestVotes while they
        // hear from n1. The transfer's election must get through anyway.
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        long term = cluster.node("n1").currentTerm();

        LeadershipTransfer.TransferRequest request = cluster.transferLeadership("n1", "n2");
        assertThat(request.isAccepted()).isTrue();
        assertThat(cluster.propose("n1", "refused")).isEqualTo(RaftNode.TRANSFERRING_LEADERSHIP);
        cluster.deliverAll();

        assertThat(cluster.leader()).isEqualTo("n2");
        assertThat(cluster.node("n2").currentTerm()).isEqualTo(term + 1);
        assertThat(cluster.sent()).anyMatch(m -> m instanceof TimeoutNow);
        assertThat(cluster.sent()).anyMatch(m -> m instanceof RequestVote rv && rv.transfer() && !rv.preVote());
        assertThat(outcomes(cluster, "n1")).containsExactly(new Outcome("n2", Result.SUCCEEDED, "n2"));
        assertThat(cluster.node("n1").transferTarget()).isNull();
    }

    @Test
    void theLeaderSendsTimeoutNowOnlyOnceTheTargetHoldsItsWholeLog() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        cluster.hold(m -> m instanceof AppendEntries && m.to().equals("n2"));
        cluster.propose("n1", "a");
        cluster.propose("n1", "b");
        cluster.deliverAll();
        assertThat(cluster.transferLeadership("n1", "n2").isAccepted()).isTrue();
        cluster.deliverAll();
        assertThat(cluster.sent()).noneMatch(m -> m instanceof TimeoutNow);
        assertThat(cluster.leader()).isEqualTo("n1");

        cluster.release();
        cluster.heal();
        cluster.deliverAll();
        assertThat(cluster.leader()).isEqualTo("n2");
        assertThat(cluster.appliedCommands("n2")).contains("a", "b");
    }

    @Test
    void aTransferThatDoesNotCompleteWithinAnElectionTimeoutFailsAndTheLeaderTakesProposalsAgain() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        cluster.isolate("n2");
        assertThat(cluster.transferLeadership("n1", "n2").isAccepted()).isTrue();
        cluster.runTicks(RaftConfig.defaults().electionTimeoutMaxTicks());

        assertThat(outcomes(cluster, "n1")).containsExactly(new Outcome("n2", Result.TIMED_OUT, "n1"));
        assertThat(cluster.leader()).isEqualTo("n1");
        assertThat(cluster.propose("n1", "again")).isPositive();
    }

    @Test
    void transfersAreRefusedWithAReason() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4").joining("n4").build();
        cluster.electLeader("n1");
        List<Member> withLearner = new ArrayList<>(cluster.node("n1").configuration().members());
        withLearner.add(Member.learner("n4", ""));
        assertThat(cluster.changeConfiguration("n1", 0, withLearner).isAccepted()).isTrue();
        cluster.deliverAll();

        assertThat(cluster.transferLeadership("n2", "n3").refusal()).isEqualTo(Refusal.NOT_LEADER);
        assertThat(cluster.transferLeadership("n1", "n1").refusal()).isEqualTo(Refusal.ALREADY_LEADER);
        assertThat(cluster.transferLeadership("n1", "n4").refusal()).isEqualTo(Refusal.TARGET_NOT_A_VOTER);
        assertThat(cluster.transferLeadership("n1", "n9").refusal()).isEqualTo(Refusal.TARGET_NOT_A_VOTER);
        cluster.isolate("n2");
        assertThat(cluster.transferLeadership("n1", "n2").isAccepted()).isTrue();
        assertThat(cluster.transferLeadership("n1", "n3").refusal()).isEqualTo(Refusal.TRANSFER_IN_PROGRESS);
        // Nor may the configuration change meanwhile.
        assertThat(cluster.changeConfiguration("n1", cluster.node("n1").configurationIndex(),
                cluster.node("n1").configuration().target().members().subList(0, 3)).refusal())
                .isEqualTo(Membership.Refusal.LEADERSHIP_TRANSFER_IN_PROGRESS);
    }

    @Test
    void aTimeoutNowFromAServerThatIsNotTheLeaderIsRefused() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        long term = cluster.node("n2").currentTerm();
        cluster.inject(new TimeoutNow("n3", "n2", term));
        assertThat(cluster.node("n2").role()).isEqualTo(Role.FOLLOWER);
        assertThat(cluster.node("n2").currentTerm()).isEqualTo(term);
        assertThat(cluster.node("n2").rejectedMessages())
                .containsEntry(MessageValidator.Reason.TIMEOUT_NOW_NOT_FROM_LEADER, 1L);
    }

    private static List<Outcome> outcomes(ScenarioCluster cluster, String id) {
        List<Outcome> out = new ArrayList<>();
        for (Ready.MembershipNews n : cluster.membershipNews(id)) {
            out.addAll(n.transfers());
        }
        return out;
    }
}
