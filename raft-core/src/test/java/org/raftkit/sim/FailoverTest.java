package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.raftkit.RaftConfig;
import org.raftkit.sim.NodeCluster.Member;

/**
 * Failover of calls in flight (thesis §6.3): a follower that forwarded writes to a leader that
 * dies sends them again to the next leader, and the session table makes that safe whether or not
 * the dead leader's copies survive.
 */
class FailoverTest {

    private static final RaftConfig CONFIG = RaftConfig.defaults().withRequestTimeoutMillis(10_000);

    @Test
    void writesForwardedToALeaderThatDiesCompleteThroughTheNextLeaderLongBeforeTheirTimeout() {
        for (long seed = 1; seed <= 20; seed++) {
            NodeScenario s = new NodeScenario(seed, 3, CONFIG);
            Member leader = s.awaitLeader();
            Member follower = s.other(leader);
            List<CompletableFuture<byte[]>> writes = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                writes.add(follower.server.submit(SimKv.write("k" + i, "v" + i)));
            }
            s.runFor(seed % 4); // 0 to 3 ms: the leader dies before, while or after it appends them
            s.cluster.crash(leader, NodeCluster.Loss.NONE);

            // The election timeout is 150-300 ms; allow it twice plus a few heartbeats, far below 10 s.
            s.runFor(1_000);

            assertThat(writes).as("seed %d: every write answered well before its 10 s timeout", seed)
                    .allMatch(f -> f.isDone() && !f.isCompletedExceptionally());
            for (int i = 0; i < writes.size(); i++) {
                assertThat(NodeKvMachine.WriteResult.parse(writes.get(i).join()).written())
                        .as("seed %d: write %d got its own result", seed, i).isEqualTo("v" + i);
            }
        }
    }
}
