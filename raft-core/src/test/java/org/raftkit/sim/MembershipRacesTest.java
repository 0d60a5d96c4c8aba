package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.junit.jupiter.api.Test;
import org.raftkit.ClusterConfiguration;
import org.raftkit.MembershipChangeException;
import org.raftkit.RaftConfig;
import org.raftkit.message.Entry;
import org.raftkit.sim.NodeCluster.Member;

/**
 * Membership calls racing each other through the public API, rebuilt step by step from what
 * {@link NodeMembershipSimulation} found, in virtual time on whole nodes. Each failed on the code
 * before its fix.
 */
class MembershipRacesTest {

    /**
     * Seed 38 of the membership simulation: {@code replaceMember(n3, n4)} adds n4 as a learner and
     * waits for it to catch up; meanwhile another administrator removes the learner n4. The
     * replacement's last step must then fail (n4 is no longer there to promote), not go on to
     * remove n3 alone: before the fix it completed "successfully" with C{n1 n2}, one voter fewer
     * and no new one (thesis §4.3: a replacement never lowers the number of voters).
     */
    @Test
    void aReplacementWhoseLearnerWasRemovedMeanwhileFailsAndRemovesNoVoter() {
        // Lag 0 and n4 never started: the learner never catches up, so the replacement waits.
        SimContext ctx = new SimContext(38);
        NodeCluster cluster = threeVotersAndASpare(ctx, RaftConfig.defaults().withRequestTimeoutMillis(10_000)
                .withMaxPromotionLagEntries(0));
        Member leader = awaitLeader(ctx, cluster);
        leader.server.submit(SimKv.write("k", "v"));
        ctx.runUntil(ctx.now() + 200_000);

        String old = leader.id.equals("n3") ? "n2" : "n3";
        CompletableFuture<ClusterConfiguration> replace = leader.server.replaceMember(old, "n4", "n4:7000");
        ctx.runUntil(ctx.now() + 300_000);
        assertThat(leader.server.configuration().isLearner("n4")).as("n4 was added as a learner").isTrue();
        assertThat(replace).as("the replacement waits for n4 to catch up").isNotDone();

        CompletableFuture<ClusterConfiguration> remove = leader.server.removeMember("n4");
        ctx.runUntil(ctx.now() + 1_000_000);

        assertThat(remove).isCompleted();
        assertThat(replace).isCompletedExceptionally();
        Throwable failure = replace.handle((c, e) -> e instanceof CompletionException ce ? ce.getCause() : e).join();
        assertThat(failure).isInstanceOf(MembershipChangeException.class);
        assertThat(((MembershipChangeException) failure).reason()).isEqualTo(MembershipChangeException.Reason.NOT_A_MEMBER);
        assertThat(leader.server.configuration().voters()).as("no voter was removed without its replacement")
                .hasSize(3).contains(old);
    }

    /**
     * Two administrators read the configuration at the same index and each asks the leader for a
     * different change from it: the first is accepted, the second refused with
     * CONFIGURATION_CHANGED (the expected-index check), and only the first takes effect.
     */
    @Test
    void ofTwoChangesMadeFromOneReadOnlyTheFirstTakesEffect() {
        SimContext ctx = new SimContext(5);
        NodeCluster cluster = threeVotersAndASpare(ctx, RaftConfig.defaults().withRequestTimeoutMillis(10_000));
        Member leader = awaitLeader(ctx, cluster);
        cluster.restart(cluster.member("n4"));
        leader.server.addLearner("n4", "n4:7000");
        ctx.runUntil(ctx.now() + 500_000);

        ClusterConfiguration read = leader.server.configuration();
        assertThat(read.isLearner("n4")).isTrue();
        List<org.raftkit.core.Configuration.Member> promote = new java.util.ArrayList<>();
        List<org.raftkit.core.Configuration.Member> drop = new java.util.ArrayList<>();
        for (org.raftkit.core.Configuration.Member m : read.members()) {
            promote.add(m.id().equals("n4") ? m.as(org.raftkit.core.Configuration.Kind.VOTER) : m);
            if (!m.id().equals("n4")) {
                drop.add(m);
            }
        }
        CompletableFuture<ClusterConfiguration> first = leader.server.changeMembership(read.index(), promote);
        CompletableFuture<ClusterConfiguration> second = leader.server.changeMembership(read.index(), drop);
        ctx.runUntil(ctx.now() + 1_000_000);

        assertThat(first).isCompleted();
        assertThat(first.join().voters()).contains("n4");
        Throwable refused = second.handle((c, e) -> e instanceof CompletionException ce ? ce.getCause() : e).join();
        assertThat(refused).isInstanceOf(MembershipChangeException.class);
        assertThat(((MembershipChangeException) refused).reason())
                .isEqualTo(MembershipChangeException.Reason.CONFIGURATION_CHANGED);
        assertThat(leader.server.configuration().voters()).containsExactlyInAnyOrder("n1", "n2", "n3", "n4");
    }

    /** n1 to n3 started as voters, and n4 a spare that starts with join() when the test starts it. */
    private static NodeCluster threeVotersAndASpare(SimContext ctx, RaftConfig config) {
        List<String> ids = List.of("n1", "n2", "n3", "n4");
        NodeNetwork network = new NodeNetwork(ctx, new SimNetwork(ctx.random.split(), ids),
                config.maxAppendBytes() + config.maxCommandBytes() + Entry.OVERHEAD_BYTES + Entry.SESSION_HEADER_BYTES);
        NodeCluster cluster = new NodeCluster(ctx, ids, config, network, id -> new NodeKvMachine());
        cluster.initialVoters = List.of("n1", "n2", "n3");
        cluster.joiners.add("n4");
        for (String id : cluster.initialVoters) {
            cluster.restart(cluster.member(id));
        }
        return cluster;
    }

    private static Member awaitLeader(SimContext ctx, NodeCluster cluster) {
        for (int i = 0; i < 100; i++) {
            ctx.runUntil(ctx.now() + 50_000);
            for (Member m : cluster.members()) {
                if (m.isUp() && m.server.status().isLeader()) {
                    return m;
                }
            }
        }
        throw new IllegalStateException("no leader within 5 s");
    }
}
