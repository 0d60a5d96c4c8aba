package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.TimeoutNow;

/**
 * Lease-based reads (thesis §6.4.1): a leader that a majority acknowledged recently answers a read
 * from its commit index without a round of its own, and only while no other leader can have been
 * elected: the lease ends before the followers that granted it would vote, even with their clocks
 * running fast by the drift bound; a leadership transfer, a configuration change or lost ticks end
 * it early; a node that just started refuses votes, since it may have forgotten a leader it heard.
 */
class LeaseReadScenariosTest {

    private static final RaftConfig LEASE = RaftConfig.defaults().withLeaseReads(true, RaftConfig.DEFAULT_CLOCK_DRIFT_BOUND);

    /** A three-node cluster with lease reads on and an elected leader that has confirmed a round. */
    private static ScenarioCluster clusterWithLeader(long seed) {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(LEASE).seed(seed).build();
        assertThat(cluster.runUntil(20 * LEASE.electionTimeoutMaxTicks(), () -> cluster.leader() != null))
                .as("a leader is elected").isNotNegative();
        cluster.runTicks(2 * LEASE.heartbeatIntervalTicks());
        return cluster;
    }

    private static long roundsSent(ScenarioCluster cluster, String leader) {
        return cluster.sent().stream().filter(m -> m instanceof Heartbeat hb && hb.from().equals(leader))
                .mapToLong(m -> ((Heartbeat) m).readRound()).max().orElse(0);
    }

    @Test
    void theLeaseIsShorterThanTheMinimumElectionTimeoutByTheDriftBound() {
        // 15 ticks of 10 ms: the followers refuse for at least 14 of their ticks, 12.7 of the leader's
        // at 10 % drift, less the tick the leader's count may lag.
        assertThat(LEASE.electionTimeoutMinTicks()).isEqualTo(15);
        assertThat(LEASE.leaseTicks()).isEqualTo(12);
        assertThat(LEASE.withLeaseReads(true, 1.0).leaseTicks()).isEqualTo(14);
        assertThatThrownBy(() -> LEASE.withCheckQuorum(false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("leaseReads needs checkQuorum");
        assertThatThrownBy(() -> LEASE.withLeaseReads(true, 0.9)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("clockDriftBound");
    }

    @Test
    void aLeaderWithALeaseAnswersAtOnceWithoutARound() {
        ScenarioCluster cluster = clusterWithLeader(1);
        String leader = cluster.leader();
        long commit = cluster.node(leader).commitIndex();
        long rounds = roundsSent(cluster, leader);
        cluster.dropQueuedIf(m -> true);

        assertThat(cluster.leaseRead(leader, 9)).isEqualTo(RaftNode.ReadAccepted.ACCEPTED);

        assertThat(cluster.readStates(leader)).containsExactly(new ReadState(9, commit));
        assertThat(cluster.inFlight()).as("no heartbeat round for it").isEmpty();
        assertThat(roundsSent(cluster, leader)).isEqualTo(rounds);
        assertThat(cluster.node(leader).leaseReadCount()).isEqualTo(1);
        // A plain read on the same leader still waits for its own round.
        cluster.readIndex(leader, 10);
        assertThat(cluster.readStates(leader)).hasSize(1);
    }

    @Test
    void aFollowersLeaseReadIsAnsweredByTheLeadersLeaseWithoutARound() {
        ScenarioCluster cluster = clusterWithLeader(2);
        String leader = cluster.leader();
        String follower = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
        long rounds = roundsSent(cluster, leader);
        long commit = cluster.node(leader).commitIndex();
        assertThat(cluster.leaseRead(follower, 3)).isEqualTo(RaftNode.ReadAccepted.ACCEPTED);
        assertThat(cluster.readStates(follower)).isEmpty();
        assertThat(cluster.inFlight()).singleElement().isInstanceOf(org.raftkit.message.ReadIndexRequest.class)
                .extracting(m -> ((org.raftkit.message.ReadIndexRequest) m).lease()).isEqualTo(true);
        cluster.deliverAll();
        assertThat(cluster.readStates(follower)).containsExactly(new ReadState(3, commit));
        assertThat(roundsSent(cluster, leader)).as("the leader's lease answered it").isEqualTo(rounds);
        assertThat(cluster.node(leader).leaseReadCount()).isEqualTo(1);
    }

    /**
     * Five nodes: the leader and one follower are cut off from the other three, who elect a leader
     * and commit a write, every clock running. In the seeds where the old leader still believes it
     * leads by then (its CheckQuorum has not fired yet), its follower asks it for a lease read: it
     * must not answer from its old commit index.
     */
    @Test
    void aDeposedLeaderDoesNotAnswerItsFollowersLeaseReadFromAnOldCommitIndex() {
        int scenarios = 0;
        for (long seed = 1; seed <= 60; seed++) {
            ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4", "n5").config(LEASE).seed(seed).build();
            assertThat(cluster.runUntil(20 * LEASE.electionTimeoutMaxTicks(), () -> cluster.leader() != null)).isNotNegative();
            cluster.runTicks(2 * LEASE.heartbeatIntervalTicks());
            String old = cluster.leader();
            List<String> others = cluster.ids().stream().filter(id -> !id.equals(old)).toList();
            String companion = others.get(0);
            List<String> majority = others.subList(1, 4);
            cluster.partition(List.of(old, companion), majority);
            String[] newLeader = new String[1];
            cluster.runUntil(20 * LEASE.electionTimeoutMaxTicks(), () -> {
                newLeader[0] = majority.stream().filter(id -> cluster.node(id).role() == Role.LEADER).findFirst().orElse(null);
                return newLeader[0] != null && cluster.node(newLeader[0]).commitIndex() > cluster.node(old).commitIndex();
            });
            if (newLeader[0] == null || cluster.node(old).role() != Role.LEADER
                    || !old.equals(cluster.node(companion).leaderId())) {
                continue; // the old leader stepped down first: nothing to show in this seed
            }
            scenarios++;
            long oldCommit = cluster.node(old).commitIndex();
            cluster.leaseRead(companion, 11);
            cluster.deliverAll();
            assertThat(cluster.readStates(companion)).as("seed %d: a read at %d would miss the new leader's commit at %d",
                    seed, oldCommit, cluster.node(newLeader[0]).commitIndex()).isEmpty();
        }
        assertThat(scenarios).as("seeds where the old leader still led when the new one committed").isPositive();
    }

    @Test
    void aFollowersLeaseReadGetsARoundWhenTheLeadersLeaseDoesNotHold() {
        ScenarioCluster cluster = clusterWithLeader(8);
        String leader = cluster.leader();
        String follower = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
        cluster.node(leader).ticksSkipped();
        long rounds = roundsSent(cluster, leader);
        cluster.leaseRead(follower, 4);
        cluster.deliverAll();
        assertThat(cluster.readStates(follower)).extracting(ReadState::context).containsExactly(4L);
        assertThat(roundsSent(cluster, leader)).as("confirmed by a round").isGreaterThan(rounds);
        assertThat(cluster.node(leader).leaseReadCount()).isZero();
    }

    /**
     * The safety argument, run out tick by tick: the leader is cut off; every tick, while it would
     * still answer a lease read, no other node may lead. The followers' clocks run faster than the
     * leader's by up to the drift bound (11 of their ticks for every 10 of its), and they campaign as
     * soon as they may.
     */
    @Test
    void noOtherLeaderIsElectedWhileTheCutOffLeaderStillAnswersLeaseReads() {
        for (long seed = 1; seed <= 20; seed++) {
            for (boolean fastFollowers : new boolean[] {false, true}) {
                ScenarioCluster cluster = clusterWithLeader(seed);
                String old = cluster.leader();
                List<String> others = cluster.ids().stream().filter(id -> !id.equals(old)).toList();
                cluster.isolate(old);
                int leaseReads = 0;
                int fallbacks = 0;
                for (int t = 1; t <= 4 * LEASE.electionTimeoutMaxTicks(); t++) {
                    cluster.tick(old, 1);
                    for (String f : others) {
                        cluster.tick(f, fastFollowers && t % 10 == 0 ? 2 : 1);
                    }
                    cluster.deliverAll();
                    int before = cluster.readStates(old).size();
                    if (cluster.node(old).role() != Role.LEADER) {
                        break;
                    }
                    cluster.leaseRead(old, 1000 + t);
                    boolean answered = cluster.readStates(old).size() > before;
                    if (answered) {
                        leaseReads++;
                        assertThat(others).as("seed %d, tick %d: %s answered under its lease while another led", seed, t, old)
                                .noneMatch(f -> cluster.node(f).role() == Role.LEADER);
                    } else {
                        fallbacks++;
                    }
                }
                assertThat(leaseReads).as("seed %d: the lease held for a while after the cut", seed).isPositive();
                assertThat(fallbacks).as("seed %d: and then ran out", seed).isPositive();
                assertThat(cluster.runUntil(20 * LEASE.electionTimeoutMaxTicks(),
                        () -> cluster.leader() != null && !cluster.leader().equals(old))).isNotNegative();
            }
        }
    }

    @Test
    void aTransferForfeitsTheLeaseForTheRestOfTheTerm() {
        ScenarioCluster cluster = clusterWithLeader(3);
        String leader = cluster.leader();
        String target = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
        cluster.loseIf(m -> m instanceof TimeoutNow); // so the target never campaigns
        assertThat(cluster.transferLeadership(leader, target).refusal()).isNull();
        cluster.deliverAll();
        assertThat(cluster.dropped()).anyMatch(m -> m instanceof TimeoutNow);
        cluster.runTicks(LEASE.electionTimeoutMaxTicks() + 1); // the transfer times out; the leader stays
        assertThat(cluster.node(leader).role()).isEqualTo(Role.LEADER);
        cluster.dropQueuedIf(m -> true);

        cluster.leaseRead(leader, 5);
        assertThat(cluster.readStates(leader)).as("no lease after TimeoutNow: a round first").isEmpty();
        cluster.deliverAll();
        assertThat(cluster.readStates(leader)).extracting(ReadState::context).containsExactly(5L);
        assertThat(cluster.node(leader).leaseReadCount()).isZero();
    }

    /**
     * Why: the target's election does not wait for leases. Here the old leader still holds a lease
     * from a round its followers acknowledged a tick ago when the target wins and commits a write;
     * without forfeiting, the old leader would answer a lease read from its old commit index.
     */
    @Test
    void aLeaderThatSentTimeoutNowNeverAnswersFromItsLeaseWhileTheTargetTakesOver() {
        ScenarioCluster cluster = clusterWithLeader(7);
        String old = cluster.leader();
        List<String> others = cluster.ids().stream().filter(id -> !id.equals(old)).toList();
        String target = others.get(0);
        long oldCommit = cluster.node(old).commitIndex();
        // Everything to the old leader is late from now on; it still believes it leads.
        cluster.hold(m -> m.to().equals(old));
        assertThat(cluster.transferLeadership(old, target).refusal()).isNull();
        cluster.deliverAll();
        assertThat(cluster.node(target).role()).as("the target won without waiting for the lease").isEqualTo(Role.LEADER);
        long write = cluster.propose(target, "after");
        cluster.deliverAll();
        assertThat(cluster.node(target).commitIndex()).isGreaterThanOrEqualTo(write);
        assertThat(cluster.node(old).role()).isEqualTo(Role.LEADER);

        cluster.leaseRead(old, 77);
        assertThat(cluster.readStates(old)).as("a read at " + oldCommit + " would miss the write at " + write).isEmpty();
        cluster.release();
        cluster.deliverAll();
        assertThat(cluster.readStates(old)).isEmpty();
        assertThat(cluster.failedReads(old)).containsExactly(77L);
    }

    @Test
    void lostTicksDropTheLeaseUntilANewRoundIsAcknowledged() {
        ScenarioCluster cluster = clusterWithLeader(4);
        String leader = cluster.leader();
        cluster.node(leader).ticksSkipped();
        cluster.leaseRead(leader, 1);
        assertThat(cluster.readStates(leader)).isEmpty();
        cluster.deliverAll();
        assertThat(cluster.readStates(leader)).hasSize(1);
        cluster.runTicks(LEASE.heartbeatIntervalTicks());
        cluster.leaseRead(leader, 2);
        assertThat(cluster.readStates(leader)).as("the next heartbeat's round renewed it").hasSize(2);
    }

    @Test
    void aConfigurationChangeDropsTheLease() {
        ScenarioCluster cluster = clusterWithLeader(5);
        String leader = cluster.leader();
        RaftNode n = cluster.node(leader);
        List<Configuration.Member> members = n.configuration().allMembers().stream()
                .filter(m -> !m.id().equals(leader)).findFirst().map(removed -> n.configuration().allMembers().stream()
                        .filter(m -> !m.equals(removed)).toList()).orElseThrow();
        cluster.hold(m -> true);
        assertThat(cluster.changeConfiguration(leader, n.configurationIndex(), members).refusal()).isNull();
        cluster.leaseRead(leader, 1);
        assertThat(cluster.readStates(leader)).isEmpty();
    }

    @Test
    void aNodeThatJustStartedRefusesToVote() {
        ScenarioCluster cluster = clusterWithLeader(6);
        String leader = cluster.leader();
        List<String> others = cluster.ids().stream().filter(id -> !id.equals(leader)).toList();
        // One follower restarts (forgetting the leader it heard); the other campaigns at once.
        cluster.crash(others.get(0));
        cluster.restart(others.get(0));
        cluster.isolate(leader);
        cluster.tickUntilCampaign(others.get(1));
        cluster.deliverAll();
        assertThat(cluster.node(others.get(1)).role()).as("the restarted node did not vote").isNotEqualTo(Role.LEADER);
    }
}
