package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.message.HeartbeatReply;

/**
 * A leader on the minority side of a partition (§5.1, §5.3): it can still take proposals, but
 * cannot commit them; the majority elects a new leader and moves on; when the partition heals the
 * stale leader steps down and its uncommitted entries are overwritten (§5.3, Figure 7).
 */
class PartitionScenariosTest {

    private static final List<String> MINORITY = List.of("n1", "n2");
    private static final List<String> MAJORITY = List.of("n3", "n4", "n5");

    @ParameterizedTest(name = "checkQuorum={0}")
    @ValueSource(booleans = {false, true})
    void staleLeaderStepsDownAndItsUncommittedEntriesAreDiscardedAfterThePartitionHeals(boolean checkQuorum) {
        RaftConfig config = RaftConfig.defaults().withCheckQuorum(checkQuorum);
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4", "n5").config(config).build();
        cluster.electLeader("n1");
        cluster.propose("n1", "before");
        cluster.runTicks(config.heartbeatIntervalTicks());
        long oldTerm = cluster.node("n1").currentTerm();

        cluster.partition(MINORITY, MAJORITY);
        // The proposals reach n2, but two of five is no majority. If n1 still leads it accepts them.
        cluster.propose("n1", "lost-1");
        cluster.propose("n1", "lost-2");
        cluster.deliverAll();
        int ticks = cluster.runUntil(10 * config.electionTimeoutMaxTicks(),
                () -> cluster.leader() != null && MAJORITY.contains(cluster.leader()));
        assertThat(ticks).as("the majority elects a leader").isNotNegative();
        String newLeader = cluster.leader();
        assertThat(cluster.node(newLeader).currentTerm()).isGreaterThan(oldTerm);
        cluster.propose(newLeader, "after");
        cluster.runTicks(config.heartbeatIntervalTicks());
        for (String id : MAJORITY) {
            assertThat(cluster.appliedCommands(id)).as("applied by %s", id).containsExactly("before", "after");
        }
        if (checkQuorum) {
            assertThat(cluster.runUntil(2 * config.electionTimeoutMinTicks(), () -> cluster.node("n1").role() != Role.LEADER))
                    .as("CheckQuorum makes it step down before the partition heals").isNotNegative();
        } else {
            assertThat(cluster.node("n1").role()).as("without CheckQuorum it does not know").isEqualTo(Role.LEADER);
        }
        for (String id : MINORITY) {
            assertThat(cluster.node(id).commitIndex()).isLessThan(cluster.node(newLeader).commitIndex());
            assertThat(cluster.appliedCommands(id)).containsExactly("before");
        }

        cluster.heal();
        cluster.runTicks(2 * config.electionTimeoutMaxTicks());

        assertThat(cluster.leader()).isEqualTo(newLeader);
        assertThat(cluster.leaders()).containsExactly(newLeader);
        for (String id : MINORITY) {
            assertThat(cluster.node(id).role()).isEqualTo(Role.FOLLOWER);
            assertThat(cluster.node(id).leaderId()).isEqualTo(newLeader);
            assertThat(cluster.log(id)).as("log of %s", id).isEqualTo(cluster.log(newLeader));
        }
        for (String id : cluster.ids()) {
            assertThat(cluster.everAppliedCommands(id)).as("ever applied by %s", id)
                    .containsExactly("before", "after")
                    .doesNotContain("lost-1", "lost-2");
        }
    }

    @ParameterizedTest(name = "crash before the disk catches up: {0}")
    @ValueSource(booleans = {false, true})
    void deposedLeaderWithAStalledDiskEndsUpStoringTheNewLeadersLog(boolean crashBeforeDiskCatchesUp) {
        RaftConfig config = RaftConfig.defaults();
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(config).build();
        cluster.electLeader("n1");
        cluster.runTicks(config.heartbeatIntervalTicks());

        long oldTerm = cluster.node("n1").currentTerm();

        // n1's disk stalls with "lost" handed to it; n1 is cut off before anyone else gets it.
        cluster.holdPersistence("n1");
        cluster.isolate("n1");
        long lostIndex = cluster.propose("n1", "lost");
        List<String> others = List.of("n2", "n3");
        assertThat(cluster.runUntilOn(others, 10 * config.electionTimeoutMaxTicks(),
                () -> cluster.leader() != null && !cluster.leader().equals("n1"))).isNotNegative();
        String newLeader = cluster.leader();
        cluster.propose(newLeader, "kept");
        cluster.runTicksOn(others, config.heartbeatIntervalTicks());

        // n1 comes back with its disk still stalled: it follows the new leader and answers its
        // heartbeats at once (liveness never waits on an fsync), but every acknowledgement it owes
        // waits behind the stalled write (Ready: messagesAfterPersist), so it cannot be repaired yet.
        cluster.heal();
        cluster.runTicks(config.heartbeatIntervalTicks());
        assertThat(cluster.node("n1").role()).isEqualTo(Role.FOLLOWER);
        assertThat(cluster.node("n1").leaderId()).isEqualTo(newLeader);
        assertThat(cluster.sent()).filteredOn(m -> m.from().equals("n1") && m.term() > oldTerm)
                .isNotEmpty()
                .allMatch(m -> m instanceof HeartbeatReply, "only heartbeat replies leave before the disk catches up");
        assertThat(cluster.storedLog("n1")).extracting(e -> e.index()).doesNotContain(lostIndex);

        if (crashBeforeDiskCatchesUp) {
            cluster.crash("n1"); // everything queued for the disk is lost
            cluster.restart("n1");
        } else {
            cluster.releasePersistence("n1"); // "lost" is written, then overwritten, in order
        }
        cluster.runTicks(2 * config.heartbeatIntervalTicks());

        assertThat(cluster.storedLog("n1")).isEqualTo(cluster.log(newLeader));
        assertThat(cluster.log("n1")).isEqualTo(cluster.log(newLeader));
        assertThat(cluster.appliedCommands("n1")).containsExactly("kept");
        assertThat(cluster.everAppliedCommands("n1")).doesNotContain("lost");
    }
}
