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

    /**
     * Long-run seed 665: F forwarded W to L1, which committed it and died before F heard. F sent W
     * again to the new leader X, whose budget was full: X answered BUSY, and F failed W as "nothing
     * appended" although the first copy was committed (a non-linearizable history). Once a copy
     * was left without an answer, a later copy's refusal must not say the write did not happen.
     */
    @Test
    void aResentWriteRefusedByTheNewLeaderIsNotReportedAsNotHappenedWhenTheFirstCopyCommitted() {
        NodeScenario s = new NodeScenario(5, 3, CONFIG.withMaxPending(2, 1 << 20));
        Member l1 = s.awaitLeader();
        Member f = s.other(l1);
        Member x = s.cluster.members().stream().filter(m -> m != l1 && m != f).findFirst().orElseThrow();
        s.network.links().cutOneWay(l1.id, f.id); // F never hears L1's answer

        CompletableFuture<byte[]> w = f.server.submit(SimKv.write("w", "first copy"));
        s.runFor(20); // L1 appends W, X acknowledges, L1 commits
        s.cluster.crash(l1, NodeCluster.Loss.NONE);
        x.scheduler.applyMicros = 3 * Simulation.SECONDS; // X's own calls hold its budget for seconds
        x.server.submit(SimKv.write("x1", "1"));
        x.server.submit(SimKv.write("x2", "2"));
        s.runFor(2_000); // X is elected; F sends W to it again; X is busy

        x.scheduler.applyMicros = 0;
        s.runFor(8_000); // X's own calls are done by now
        CompletableFuture<byte[]> read = x.server.staleRead("w".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        s.runFor(100); // never join in the simulation: only running it completes futures
        assertThat(read).isDone();
        assertThat(NodeKvMachine.value(read.join())).as("the first copy was committed and applied")
                .isEqualTo("first copy");
        assertThat(w).isDone();
        if (w.isCompletedExceptionally()) {
            Throwable failure = w.handle((ok, e) -> e instanceof java.util.concurrent.CompletionException
                    && e.getCause() != null ? e.getCause() : e).join();
            assertThat(failure).as("applied, so never 'nothing happened'")
                    .isNotInstanceOf(org.raftkit.ServerBusyException.class)
                    .isNotInstanceOf(org.raftkit.NotLeaderException.class);
        }
    }

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
