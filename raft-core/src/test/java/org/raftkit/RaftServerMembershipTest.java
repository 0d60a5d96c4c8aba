package org.raftkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.raftkit.runtime.RecordingStateMachine.bytes;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.raftkit.MembershipChangeException.Reason;
import org.raftkit.core.Configuration;
import org.raftkit.core.Configuration.Member;
import org.raftkit.memory.MemoryIdentityStore;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.memory.MemoryNetwork;
import org.raftkit.memory.MemoryTermVoteStore;
import org.raftkit.runtime.Await;
import org.raftkit.runtime.RecordingStateMachine;
import org.raftkit.runtime.TestCluster;
import org.raftkit.spi.IdentityStore.Identity;

/**
 * Membership changes and leadership transfer through {@link RaftServer}, on real threads over an
 * in-memory network, as an operator would run them: add a node, promote it, remove one, replace
 * one, hand leadership over, close a leader; and every bad request refused with its reason, the
 * configuration unchanged.
 */
class RaftServerMembershipTest {

    private static final Duration WAIT = Duration.ofSeconds(15);

    @AutoClose
    private TestCluster cluster;

    @Test
    void aJoiningNodeWaitsWithNoConfigurationAndNeverCampaigns() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig()).startAll();
        cluster.awaitLeader(WAIT);
        RaftServer n4 = cluster.startJoining("n4");

        assertThat(n4.configuration()).isEqualTo(ClusterConfiguration.EMPTY);
        // Several election timeouts later it is still a follower without a configuration.
        long until = System.nanoTime() + Duration.ofMillis(600).toNanos();
        Await.await(WAIT, () -> System.nanoTime() - until > 0);
        assertThat(n4.status().role()).isEqualTo(Role.FOLLOWER);
        assertThat(n4.status().term()).isZero();
        assertThat(Await.failure(n4.addLearner("n5", ""), WAIT)).isInstanceOf(MembershipChangeException.class)
                .extracting(e -> ((MembershipChangeException) e).reason()).isEqualTo(Reason.NOT_A_MEMBER_HERE);
    }

    @Test
    void addALearnerPromoteItThenRemoveTheOldLeaderAndWritesGoOn() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        cluster.submit(leader, "before", WAIT);
        cluster.startJoining("n4");

        ClusterConfiguration added = Await.value(cluster.server(leader).addLearner("n4", "mem:n4"), WAIT);
        assertThat(added.member("n4")).isEqualTo(Member.learner("n4", "mem:n4"));
        assertThat(added.isJoint()).isFalse();
        Await.await(WAIT, () -> cluster.server("n4").configuration().member("n4") != null, () -> "n4 to learn it was added");
        cluster.awaitSameApplied(WAIT, List.of(leader, "n4"), 1);

        ClusterConfiguration promoted = retryWhileNotCaughtUp(() -> cluster.server(leader).promote("n4"));
        assertThat(promoted.voters()).contains("n4").hasSize(4);

        ClusterConfiguration removed = Await.value(cluster.server(leader).removeMember(leader), WAIT);
        assertThat(removed.voters()).doesNotContain(leader).hasSize(3);
        List<String> rest = new ArrayList<>(removed.voters());
        String next = cluster.awaitLeader(WAIT, rest);
        assertThat(next).isNotEqualTo(leader);
        cluster.submit("n4", "after", WAIT);
        cluster.awaitSameApplied(WAIT, rest, 2);
        // The removed leader learns nothing more and refuses changes as a non-member.
        Await.await(WAIT, () -> !cluster.server(leader).configuration().configuration().contains(leader),
                () -> leader + " to learn it was removed");
        Throwable refused = Await.failure(cluster.server(leader).addLearner("n9", ""), WAIT);
        assertThat(((MembershipChangeException) refused).reason()).isEqualTo(Reason.NOT_A_MEMBER_HERE);
    }

    @Test
    void replaceMemberSwapsAVoterForANewNodeInOneCall() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        String dead = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
        cluster.stop(dead);
        cluster.startJoining("n4");

        ClusterConfiguration after = Await.value(cluster.server(leader).replaceMember(dead, "n4", "mem:n4"), WAIT);

        assertThat(after.voters()).contains("n4").doesNotContain(dead).hasSize(3);
        assertThat(after.isJoint()).isFalse();
        cluster.submit(leader, "x", WAIT);
        List<String> live = new ArrayList<>(after.voters());
        cluster.awaitSameApplied(WAIT, live, 1);
    }

    @Test
    void badRequestsAreRefusedWithTheirReasonAndChangeNothing() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        cluster.submit(leader, "a", WAIT); // the no-op and this are committed: changes may start
        RaftServer l = cluster.server(leader);
        ClusterConfiguration before = l.configuration();
        String follower = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();

        assertThat(reason(l.addLearner(follower, "x"))).isEqualTo(Reason.ALREADY_MEMBER);
        assertThat(reason(l.promote(follower))).isEqualTo(Reason.NOT_A_LEARNER);
        assertThat(reason(l.promote("n9"))).isEqualTo(Reason.NOT_A_MEMBER);
        assertThat(reason(l.removeMember("n9"))).isEqualTo(Reason.NOT_A_MEMBER);
        assertThat(reason(l.changeMembership(before.index() + 7, before.members()))).isEqualTo(Reason.CONFIGURATION_CHANGED);
        assertThat(reason(l.changeMembership(before.index(), before.members()))).isEqualTo(Reason.UNCHANGED);
        assertThat(reason(l.changeMembership(before.index(), List.of(Member.learner(leader, ""))))).isEqualTo(
                Reason.INVALID_CONFIGURATION);
        Throwable onFollower = Await.failure(cluster.server(follower).addLearner("n9", ""), WAIT);
        assertThat(onFollower).isInstanceOf(NotLeaderException.class);
        assertThat(((NotLeaderException) onFollower).leaderId()).isEqualTo(leader);

        assertThat(l.configuration()).isEqualTo(before);
    }

    @Test
    void theLastVoterCannotBeRemoved() {
        cluster = new TestCluster("s", 1, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        cluster.submit(leader, "a", WAIT);
        assertThat(reason(cluster.server(leader).removeMember(leader))).isEqualTo(Reason.LAST_VOTER);
    }

    @Test
    void transferLeadershipMovesTheLeaderAndWritesDuringItLand() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        cluster.submit(leader, "a", WAIT);
        String target = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();

        CompletableFuture<String> transfer = cluster.server(leader).transferLeadership(target);
        List<CompletableFuture<byte[]>> writes = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            writes.add(cluster.server(leader).submit(bytes("w" + i)));
        }

        assertThat(Await.value(transfer, WAIT)).isEqualTo(target);
        for (CompletableFuture<byte[]> w : writes) {
            Await.value(w, WAIT); // held during the transfer, then proposed by the new leader
        }
        String current = cluster.awaitLeader(WAIT);
        Throwable notAVoter = Await.failure(cluster.server(current).transferLeadership("n9"), WAIT);
        assertThat(((LeadershipTransferException) notAVoter).reason())
                .isEqualTo(LeadershipTransferException.Reason.TARGET_NOT_A_VOTER);
        String now = cluster.awaitLeader(WAIT);
        assertThat(Await.value(cluster.server(now).transferLeadership(now), WAIT)).as("already leads").isEqualTo(now);
    }

    @Test
    void transferLeadershipWithoutATargetPicksAnotherVoter() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        cluster.submit(leader, "a", WAIT);
        String follower = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();

        String successor = Await.value(cluster.server(leader).transferLeadership(), WAIT);

        assertThat(successor).isNotEqualTo(leader).isIn(cluster.ids());
        assertThat(cluster.awaitLeader(WAIT)).isEqualTo(successor);
        assertThat(Await.failure(cluster.server(follower.equals(successor) ? leader : follower).transferLeadership(), WAIT))
                .isInstanceOf(org.raftkit.NotLeaderException.class);
    }

    @Test
    void closingTheLeaderLeavesASuccessorOneTermLaterAndWritesGoOn() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        cluster.submit(leader, "a", WAIT);
        List<String> others = cluster.ids().stream().filter(id -> !id.equals(leader)).toList();
        long termBefore = cluster.server(others.get(0)).status().term();

        cluster.stop(leader); // hands leadership over first (TimeoutNow), then closes

        // The successor was elected in the next term by the transfer; the new leader publishes its
        // role a moment after its first heartbeat, hence the wait.
        String next = cluster.awaitLeader(WAIT, others);
        assertThat(cluster.server(next).status().term()).isEqualTo(termBefore + 1);
        cluster.submit(next, "b", WAIT);
    }

    @Test
    void dataOfAnotherNodeOrClusterIsRefusedAndALostLogNeverBootstrapsAgain() {
        Configuration initial = Configuration.of(List.of(Member.voter("a", "h:1"), Member.voter("b", "h:2")));
        String clusterId = RaftServer.clusterIdFor("test", initial);
        MemoryIdentityStore identity = new MemoryIdentityStore();
        MemoryLogStorage log = new MemoryLogStorage();
        MemoryTermVoteStore termVote = new MemoryTermVoteStore();
        try (MemoryNetwork network = new MemoryNetwork()) {
            RaftServer.builder().id("a").bootstrap(initial).clusterId(clusterId).identityStore(identity)
                    .stateMachine(new RecordingStateMachine()).logStorage(log).termVoteStore(termVote)
                    .transport(network.transport("a")).build();
            assertThat(identity.load()).isEqualTo(new Identity(clusterId, "a"));
            assertThat(log.lastIndex()).isEqualTo(1);
            assertThat(termVote.load().currentTerm()).isEqualTo(1);

            assertThatThrownBy(() -> RaftServer.builder().id("b").bootstrap(initial).clusterId(clusterId)
                    .identityStore(identity).stateMachine(new RecordingStateMachine()).logStorage(log)
                    .termVoteStore(termVote).transport(network.transport("b")).build())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("belongs to node a");
            assertThatThrownBy(() -> RaftServer.builder().id("a").join().clusterId("other-1234")
                    .identityStore(identity).stateMachine(new RecordingStateMachine()).logStorage(log)
                    .termVoteStore(termVote).transport(network.transport("a2")).build())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("belongs to cluster " + clusterId);
            assertThatThrownBy(() -> RaftServer.builder().id("a").bootstrap(initial).clusterId(clusterId)
                    .identityStore(identity).stateMachine(new RecordingStateMachine()).logStorage(new MemoryLogStorage())
                    .termVoteStore(new MemoryTermVoteStore()).transport(network.transport("a3")).build())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("its Raft data was lost");
        }
    }

    private static Reason reason(CompletableFuture<?> f) {
        Throwable t = Await.failure(f, WAIT);
        assertThat(t).isInstanceOf(MembershipChangeException.class);
        return ((MembershipChangeException) t).reason();
    }

    /** Promotion is refused until the learner has caught up; an operator (or this) tries again. */
    private static ClusterConfiguration retryWhileNotCaughtUp(Supplier<CompletableFuture<ClusterConfiguration>> call) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                return call.get().get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (!(e.getCause() instanceof MembershipChangeException m) || !m.reason().retryable()
                        || System.nanoTime() - deadline > 0) {
                    throw new AssertionError(e.getCause());
                }
                java.util.concurrent.CompletableFuture.runAsync(() -> { },
                        java.util.concurrent.CompletableFuture.delayedExecutor(20, java.util.concurrent.TimeUnit.MILLISECONDS))
                        .join();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }
}
