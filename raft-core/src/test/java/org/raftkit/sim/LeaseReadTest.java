package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.raftkit.RaftConfig;
import org.raftkit.sim.NodeCluster.Member;

/**
 * Lease reads through whole {@code RaftServer}s: answered on the leader without a round, and never
 * from a lease whose time ran out while the leader's Raft thread was stalled.
 */
class LeaseReadTest {

    private static final RaftConfig CONFIG = RaftConfig.defaults().withRequestTimeoutMillis(2_000)
            .withLeaseReads(true, RaftConfig.DEFAULT_CLOCK_DRIFT_BOUND);

    private static byte[] key(String k) {
        return k.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theLeaderAnswersALeaseReadWithTheLatestWrite() {
        NodeScenario s = new NodeScenario(11, 3, CONFIG);
        Member leader = s.awaitLeader();
        CompletableFuture<byte[]> write = leader.server.submit(SimKv.write("k", "v1"));
        s.runFor(100);
        assertThat(write).isCompleted();
        CompletableFuture<byte[]> read = leader.server.leaseRead(key("k"));
        s.runFor(5);
        assertThat(NodeKvMachine.value(read.join())).isEqualTo("v1");
    }

    /**
     * The leader is cut off and its process stalls for a second; meanwhile the others elect a leader
     * and commit a write. When it resumes it has caught up only a few ticks of that second, so its
     * tick count says its lease still holds. It must not answer from it: the stall dropped the lease.
     */
    @Test
    void aLeaderWhoseThreadStalledDoesNotTrustTheTicksItMissed() {
        NodeScenario s = new NodeScenario(12, 3, CONFIG);
        Member old = s.awaitLeader();
        old.server.submit(SimKv.write("k", "v1"));
        s.runFor(200);
        s.network.links().isolate(old.id);
        old.scheduler.pausedUntil = s.ctx.now() + 1_000 * Simulation.MILLIS;
        s.runFor(900);
        Member newLeader = s.cluster.members().stream().filter(m -> m != old && m.server.status().isLeader())
                .findFirst().orElseThrow(() -> new AssertionError("the others elected no leader"));
        CompletableFuture<byte[]> write = newLeader.server.submit(SimKv.write("k", "v2"));
        s.runFor(90);
        assertThat(write).as("v2 is acknowledged").isCompleted();
        s.runFor(20); // the old leader resumes, still cut off, still believing it leads
        assertThat(old.server.status().isLeader()).isTrue();

        CompletableFuture<byte[]> read = old.server.leaseRead(key("k"));
        s.runFor(30);
        assertThat(read).as("no answer from a lease that ran out during the stall (v1 would be stale)").isNotCompleted();
    }
}
