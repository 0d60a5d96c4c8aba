package org.raftkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.raftkit.runtime.RecordingStateMachine.bytes;
import static org.raftkit.runtime.RecordingStateMachine.string;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.raftkit.runtime.Await;
import org.raftkit.runtime.TestCluster;

/** Fail-stop, no leader, close, and backpressure, each as an operator would see it. */
class RaftServerFailureTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    /** Closed after each test, whatever it left running. */
    @AutoClose
    private TestCluster cluster;

    @Test
    void nodeWhoseStorageFailsStopsAndTheOtherTwoKeepCommitting() {
        cluster = new TestCluster("s", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        List<String> followers = otherThan(leader);
        String broken = followers.get(0);
        String healthy = followers.get(1);

        cluster.storage(broken).failSyncs();
        cluster.submit(leader, "x", WAIT);
        Await.await(WAIT, () -> cluster.failure(broken) != null,
                () -> broken + " to report its failure: " + cluster.statuses());
        assertThat(cluster.failure(broken)).hasMessageContaining("simulated fsync failure");
        assertThat(cluster.server(broken).status().state()).isEqualTo(RaftStatus.State.FAILED);

        cluster.submit(leader, "y", WAIT);
        cluster.awaitSameApplied(WAIT, List.of(leader, healthy), 2);
        assertThat(cluster.machine(healthy).commands()).containsExactly("x", "y");
        Throwable t = Await.failure(cluster.server(broken).submit(bytes("z")), WAIT);
        assertThat(t).isInstanceOf(ServerClosedException.class).hasRootCauseMessage("simulated fsync failure");
    }

    @Test
    void stateMachineExceptionFailsTheProposerAndStopsTheNode() {
        cluster = new TestCluster("m", 1, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        cluster.submit(leader, "ok", WAIT);

        Throwable t = Await.failure(cluster.server(leader).submit(bytes("boom")), WAIT);

        assertThat(t).isInstanceOf(StateMachineException.class).hasRootCauseMessage("boom at 3");
        Await.await(WAIT, () -> cluster.failure(leader) != null);
        assertThat(cluster.failure(leader)).isInstanceOf(StateMachineException.class);
        assertThat(cluster.server(leader).status().state()).isEqualTo(RaftStatus.State.FAILED);
    }

    @Test
    void queryExceptionFailsOnlyThatRead() {
        cluster = new TestCluster("q", 1, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        cluster.submit(leader, "a", WAIT);

        Throwable t = Await.failure(cluster.server(leader).read(bytes("boom")), WAIT);

        assertThat(t).isInstanceOf(StateMachineException.class);
        assertThat(string(Await.value(cluster.server(leader).read(bytes("last")), WAIT)))
                .isEqualTo("a");
        assertThat(cluster.server(leader).status().state()).isEqualTo(RaftStatus.State.RUNNING);
    }

    @Test
    void withoutQuorumCallsFailQuicklyAsNotLeader() {
        cluster = new TestCluster("x", 3, TestCluster.fastConfig().withRequestTimeoutMillis(1_000));
        RaftServer alone = cluster.start("x1");
        long start = System.nanoTime();

        Throwable write = Await.failure(alone.submit(bytes("a")), WAIT);
        Throwable read = Await.failure(alone.read(bytes("last")), WAIT);

        assertThat(write).isInstanceOfAny(NotLeaderException.class, UnknownOutcomeException.class);
        assertThat(read).isInstanceOfAny(NotLeaderException.class, UnknownOutcomeException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        assertThat(alone.status().leaderId()).isNull();
    }

    @Test
    void closeFailsPendingCallsJoinsThreadsAndIsIdempotent() throws Exception {
        cluster = new TestCluster("close", 1, TestCluster.fastConfig().withRequestTimeoutMillis(30_000)).startAll();
        String leader = cluster.awaitLeader(WAIT);
        RaftServer server = cluster.server(leader);
        cluster.machine(leader).closeGate();
        CompletableFuture<byte[]> applying = server.submit(bytes("a"));
        CompletableFuture<byte[]> queued = server.submit(bytes("b"));
        Await.await(WAIT, () -> cluster.machine(leader).isApplying());

        // close() joins the apply thread, which is stuck in the state machine until the gate opens.
        Thread closer = new Thread(server::close, "test-closer");
        closer.start();
        assertThat(Await.failure(applying, WAIT)).isInstanceOf(ServerClosedException.class);
        assertThat(Await.failure(queued, WAIT)).isInstanceOf(ServerClosedException.class);
        cluster.machine(leader).openGate();
        closer.join(WAIT.toMillis());
        assertThat(closer.isAlive()).isFalse();

        server.close();
        assertThat(server.status().state()).isEqualTo(RaftStatus.State.CLOSED);
        assertThat(Await.failure(server.submit(bytes("c")), WAIT)).isInstanceOf(ServerClosedException.class);
        assertThat(raftkitThreads("raftkit-close")).isEmpty();
    }

    @Test
    void fullQueueFailsSubmitsFastWithServerBusy() {
        cluster = new TestCluster("b", 1, TestCluster.fastConfig().withMaxPending(2, 1 << 20)
                .withRequestTimeoutMillis(30_000)).startAll();
        String leader = cluster.awaitLeader(WAIT);
        RaftServer server = cluster.server(leader);
        cluster.machine(leader).closeGate();

        CompletableFuture<byte[]> first = server.submit(bytes("a"));
        CompletableFuture<byte[]> second = server.submit(bytes("b"));
        CompletableFuture<byte[]> third = server.submit(bytes("c"));
        CompletableFuture<byte[]> read = server.read(bytes("last"));

        assertThat(third).isCompletedExceptionally();
        assertThat(Await.failure(third, WAIT)).isInstanceOf(ServerBusyException.class);
        assertThat(Await.failure(read, WAIT)).isInstanceOf(ServerBusyException.class);
        cluster.machine(leader).openGate();
        Await.value(first, WAIT);
        Await.value(second, WAIT);
        assertThat(string(Await.value(server.submit(bytes("d")), WAIT))).endsWith(":d");
    }

    private List<String> otherThan(String id) {
        List<String> out = new ArrayList<>(cluster.ids());
        out.remove(id);
        return out;
    }

    private static List<String> raftkitThreads(String prefix) {
        List<String> names = new ArrayList<>();
        Set<Thread> threads = Thread.getAllStackTraces().keySet();
        for (Thread t : threads) {
            if (t.getName().startsWith(prefix) && t.isAlive()) {
                names.add(t.getName());
            }
        }
        return names;
    }
}
