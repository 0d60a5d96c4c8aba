package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.message.ReadIndexRequest;

/**
 * Linearizable reads without log writes (thesis §6.4, "ReadIndex"): a read is answered only at a
 * commit index that a majority confirmed after the read arrived, and never by a leader that may
 * have been replaced.
 */
class ReadIndexScenariosTest {

    @Test
    void leaderAnswersAReadOnlyAfterAMajorityConfirmsItWithAHeartbeatRound() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        cluster.propose("n1", "a");
        cluster.deliverAll();
        long commit = cluster.node("n1").commitIndex();

        assertThat(cluster.readIndex("n1", 7)).isEqualTo(RaftNode.ReadAccepted.ACCEPTED);

        assertThat(cluster.readStates("n1")).isEmpty();
        assertThat(cluster.inFlight()).filteredOn(m -> m instanceof Heartbeat hb && hb.readRound() > 0)
                .extracting(m -> m.to()).containsExactlyInAnyOrder("n2", "n3");

        cluster.deliverOnly("n1", "n2");
        assertThat(cluster.readStates("n1")).as("n2 has heard the round, but n1 has not heard back").isEmpty();

        cluster.deliverOnly("n2", "n1");
        assertThat(cluster.readStates("n1")).containsExactly(new ReadState(7, commit));
    }

    @Test
    void deposedLeaderNeverAnswersAReadIssuedAfterTheNewLeaderCommittedAWrite() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        cluster.runTicks(cluster.config().heartbeatIntervalTicks());

        // n1 is cut off and paused (its clock stands still, so CheckQuorum has not fired yet).
        cluster.isolate("n1");
        List<String> others = List.of("n2", "n3");
        assertThat(cluster.runUntilOn(others, 10 * cluster.config().electionTimeoutMaxTicks(),
                () -> cluster.leader() != null && !cluster.leader().equals("n1"))).isNotNegative();
        String newLeader = cluster.leader();
        long write = cluster.propose(newLeader, "w");
        cluster.runTicksOn(others, cluster.config().heartbeatIntervalTicks());
        assertThat(cluster.node(newLeader).commitIndex()).isEqualTo(write);
        assertThat(cluster.node("n1").role()).as("n1 still believes it leads").isEqualTo(Role.LEADER);

        // A read issued now must see w, which n1 does not even hold. n1 must not answer it.
        assertThat(cluster.readIndex("n1", 42)).isEqualTo(RaftNode.ReadAccepted.ACCEPTED);
        int ticks = cluster.runUntil(10 * cluster.config().electionTimeoutMaxTicks(),
                () -> cluster.node("n1").role() != Role.LEADER);

        assertThat(ticks).as("CheckQuorum deposes n1").isNotNegative();
        assertThat(cluster.readStates("n1")).isEmpty();
        assertThat(cluster.failedReads("n1")).containsExactly(42L);
    }

    @Test
    void withoutCheckQuorumADeposedLeaderKeepsTheReadPendingUntilItLearnsOfTheNewTerm() {
        RaftConfig config = RaftConfig.defaults().withCheckQuorum(false);
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(config).build();
        cluster.electLeader("n1");
        cluster.runTicks(config.heartbeatIntervalTicks());

        cluster.isolate("n1");
        assertThat(cluster.runUntil(10 * config.electionTimeoutMaxTicks(),
                () -> cluster.leader() != null && !cluster.leader().equals("n1"))).isNotNegative();
        String newLeader = cluster.leader();
        long write = cluster.propose(newLeader, "w");
        cluster.runTicks(config.heartbeatIntervalTicks());
        assertThat(cluster.node(newLeader).commitIndex()).isEqualTo(write);

        cluster.readIndex("n1", 42);
        cluster.runTicks(10 * config.electionTimeoutMaxTicks());
        assertThat(cluster.node("n1").role()).isEqualTo(Role.LEADER);
        assertThat(cluster.readStates("n1")).as("no majority confirms n1, however long it waits").isEmpty();
        assertThat(cluster.failedReads("n1")).isEmpty();

        cluster.heal();
        cluster.runTicks(config.heartbeatIntervalTicks());

        assertThat(cluster.node("n1").role()).isEqualTo(Role.FOLLOWER);
        assertThat(cluster.readStates("n1")).isEmpty();
        assertThat(cluster.failedReads("n1")).containsExactly(42L);
    }

    @Test
    void newLeaderHoldsReadsUntilTheNoOpOfItsTermCommits() {
        // Three entries of term 1 that the new leader cannot know to be committed until its no-op is.
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3")
                .log("n1", 1, 1, 1).log("n2", 1, 1, 1).log("n3", 1, 1, 1)
                .build();
        cluster.hold(m -> m instanceof AppendEntries);
        cluster.electLeader("n1");
        RaftNode n1 = cluster.node("n1");
        assertThat(n1.commitIndex()).isZero();

        cluster.readIndex("n1", 5);
        cluster.deliverAll();

        assertThat(cluster.readStates("n1")).isEmpty();
        assertThat(cluster.sent()).as("no confirmation round yet")
                .noneMatch(m -> m instanceof Heartbeat hb && hb.readRound() > 0);

        cluster.release();
        cluster.deliverAll();

        assertThat(n1.commitIndex()).isEqualTo(4);
        assertThat(n1.termAt(4)).as("the no-op of term 2").isEqualTo(2);
        assertThat(cluster.readStates("n1")).containsExactly(new ReadState(5, 4));
    }

    @Test
    void followerReadIsAnsweredWithTheLeadersCommitIndex() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        cluster.runTicks(cluster.config().heartbeatIntervalTicks());
        // n2 stops receiving entries, so it falls behind the leader's commit index.
        cluster.loseIf(m -> m instanceof AppendEntries && m.to().equals("n2"));
        cluster.propose("n1", "a");
        cluster.propose("n1", "b");
        cluster.deliverAll();
        long leaderCommit = cluster.node("n1").commitIndex();
        assertThat(cluster.node("n2").commitIndex()).isLessThan(leaderCommit);

        assertThat(cluster.readIndex("n2", 9)).isEqualTo(RaftNode.ReadAccepted.ACCEPTED);
        assertThat(cluster.inFlight()).anyMatch(m -> m instanceof ReadIndexRequest r && r.to().equals("n1"));
        cluster.deliverAll();

        assertThat(cluster.sent()).anyMatch(m -> m instanceof ReadIndexReply r && r.success() && r.to().equals("n2"));
        // n2 may answer only once it has applied up to the leader's commit index, not its own.
        assertThat(cluster.readStates("n2")).containsExactly(new ReadState(9, leaderCommit));
        assertThat(cluster.node("n2").appliedIndex()).isLessThan(leaderCommit);
    }

    @Test
    void followerWithoutAKnownLeaderRefusesAReadAtOnce() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");

        assertThat(cluster.readIndex("n2", 1)).isEqualTo(RaftNode.ReadAccepted.NO_LEADER);
    }
}
