package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.raftkit.RaftConfig;
import org.raftkit.TooFarBehindException;
import org.raftkit.sim.NodeCluster.Member;

/** Stale reads with a bound on lag (issue 12): a node too far behind, or cut off, refuses. */
class BoundedStaleReadTest {

    private static final RaftConfig CONFIG = RaftConfig.defaults().withRequestTimeoutMillis(10_000);

    private static byte[] key(String k) {
        return k.getBytes(StandardCharsets.UTF_8);
    }

    private static Throwable failure(CompletableFuture<byte[]> f) {
        return f.handle((ok, e) -> e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                ? e.getCause() : e).join();
    }

    @Test
    void aFollowerThatIsUpToDateAnswersAndOneThatIsCutOffRefuses() {
        NodeScenario s = new NodeScenario(3, 3, CONFIG);
        Member leader = s.awaitLeader();
        Member follower = s.other(leader);
        leader.server.submit(SimKv.write("k", "v1"));
        s.runFor(200);

        CompletableFuture<byte[]> fresh = follower.server.staleRead(key("k"), 0);
        s.runFor(10);
        assertThat(fresh).isCompleted();
        assertThat(NodeKvMachine.value(fresh.join())).isEqualTo("v1");

        s.network.links().isolate(follower.id);
        s.runFor(400); // past the minimum election timeout without a word from the leader
        CompletableFuture<byte[]> cutOff = follower.server.staleRead(key("k"), 1_000_000);
        CompletableFuture<byte[]> unbounded = follower.server.staleRead(key("k"));
        s.runFor(10);
        assertThat(failure(cutOff)).isInstanceOf(TooFarBehindException.class)
                .hasMessageContaining("has not heard from a leader");
        assertThat(NodeKvMachine.value(unbounded.join())).as("without a bound it answers anyway").isEqualTo("v1");
    }

    @Test
    void aFollowerWhoseStateMachineLagsRefusesABoundItCannotMeet() {
        NodeScenario s = new NodeScenario(4, 3, CONFIG);
        Member leader = s.awaitLeader();
        Member follower = s.other(leader);
        follower.scheduler.applyMicros = 2 * Simulation.SECONDS; // its state machine stalls
        for (int i = 0; i < 20; i++) {
            leader.server.submit(SimKv.write("k" + i, "v"));
            s.runFor(5);
        }
        s.runFor(100);

        CompletableFuture<byte[]> tight = follower.server.staleRead(key("k0"), 5);
        CompletableFuture<byte[]> loose = follower.server.staleRead(key("k0"), 1_000);
        s.runFor(5_000);

        assertThat(failure(tight)).isInstanceOf(TooFarBehindException.class).hasMessageContaining("behind");
        assertThat(loose).isCompleted();
    }
}
