package org.raftkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.raftkit.runtime.RecordingStateMachine.bytes;
import static org.raftkit.runtime.RecordingStateMachine.string;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.runtime.Await;
import org.raftkit.runtime.TestCluster;

/** Three real servers on an in-memory network: elections, writes, reads, partitions, restarts. */
class RaftServerClusterTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    /** Closed after each test, whatever it left running. */
    @AutoClose
    private TestCluster cluster;

    @Test
    void writesOnLeaderAndForwardedFromFollowerAreAppliedEverywhere() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        String follower = otherThan(leader).get(0);

        byte[] onLeader = Await.value(cluster.server(leader).submit(bytes("a")), WAIT);
        byte[] forwarded = Await.value(cluster.server(follower).submit(bytes("b")), WAIT);

        assertThat(string(onLeader)).endsWith(":a");
        assertThat(string(forwarded)).endsWith(":b");
        List<String> applied = cluster.awaitSameApplied(WAIT, cluster.ids(), 2);
        assertThat(applied).containsSubsequence(indexOf(onLeader) + "=a", indexOf(forwarded) + "=b");
        assertThat(cluster.server(follower).status().appliedIndex()).isGreaterThanOrEqualTo(indexOf(forwarded));
    }

    @Test
    void manyConcurrentSubmitsAllCompleteAndStateMachinesConverge() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        List<CompletableFuture<byte[]>> futures = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String on = cluster.ids().get(i % 3);
            futures.add(cluster.server(on).submit(bytes("c" + i)));
        }
        for (CompletableFuture<byte[]> f : futures) {
            Await.value(f, WAIT);
        }
        List<String> applied = cluster.awaitSameApplied(WAIT, cluster.ids(), 300);
        assertThat(cluster.machine(leader).commands()).hasSize(300);
        assertThat(applied).hasSize(300);
    }

    @Test
    void linearizableReadOnLeaderAndFollowerSeesAcknowledgedWrite() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        String lagging = otherThan(leader).get(0);
        cluster.submit(leader, "w1", WAIT);
        cluster.awaitSameApplied(WAIT, cluster.ids(), 1);

        // The lagging follower gets no entries (heartbeats still flow, so it keeps its leader).
        AtomicBoolean readIndexArrived = new AtomicBoolean();
        cluster.network().dropIf(m -> m instanceof AppendEntries && m.to().equals(lagging));
        cluster.network().dropIf(m -> {
            if (m instanceof ReadIndexReply && m.to().equals(lagging)) {
                readIndexArrived.set(true);
            }
            return false;
        });
        cluster.submit(leader, "x", WAIT); // acknowledged by the leader and the other follower

        CompletableFuture<byte[]> read = cluster.server(lagging).read(bytes("last"));
        Await.await(WAIT, readIndexArrived::get, () -> "the leader's read index to reach " + lagging);
        assertThat(string(Await.value(cluster.server(lagging).staleRead(bytes("last")), WAIT)))
                .as("a stale read may miss the acknowledged write").isEqualTo("w1");
        assertThat(read).as("a linearizable read waits until the follower has applied the read index").isNotDone();

        cluster.network().heal();
        assertThat(string(Await.value(read, WAIT))).isEqualTo("x");
        assertThat(string(Await.value(cluster.server(leader).read(bytes("last")), WAIT))).isEqualTo("x");
    }

    @Test
    void isolatedLeaderIsReplacedItsPendingWriteFailsAndItCatchesUpAfterHeal() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig().withRequestTimeoutMillis(1_500)).startAll();
        String old = cluster.awaitLeader(WAIT);
        cluster.submit(old, "a", WAIT);
        cluster.awaitSameApplied(WAIT, cluster.ids(), 1);

        cluster.network().isolate(old);
        CompletableFuture<byte[]> lost = cluster.server(old).submit(bytes("lost"));
        List<String> majority = otherThan(old);
        String newLeader = cluster.awaitLeader(WAIT, majority);
        String follower = majority.get(0).equals(newLeader) ? majority.get(1) : majority.get(0);
        cluster.submit(newLeader, "b", WAIT);
        cluster.submit(follower, "c", WAIT);

        Throwable t = Await.failure(lost, WAIT);
        assertThat(t).as("a write the isolated leader could not replicate must never succeed")
                .isInstanceOfAny(NotLeaderException.class, UnknownOutcomeException.class);

        cluster.network().heal();
        List<String> applied = cluster.awaitSameApplied(WAIT, cluster.ids(), 3);
        assertThat(cluster.machine(old).commands()).containsExactly("a", "b", "c").doesNotContain("lost");
        assertThat(applied).hasSize(3);
        assertThat(cluster.awaitLeader(WAIT)).isEqualTo(newLeader);
    }

    @Test
    void restartedNodeRejoinsAndReappliesItsLog() {
        cluster = new TestCluster("n", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        String restarted = otherThan(leader).get(0);
        cluster.submit(leader, "a", WAIT);
        cluster.submit(leader, "b", WAIT);
        cluster.awaitSameApplied(WAIT, cluster.ids(), 2);

        cluster.stop(restarted);
        cluster.submit(leader, "c", WAIT);
        long lastBefore = cluster.storage(restarted).lastIndex();

        cluster.start(restarted);
        assertThat(cluster.server(restarted).status().lastLogIndex()).isEqualTo(lastBefore);
        cluster.submit(leader, "d", WAIT);
        cluster.awaitSameApplied(WAIT, cluster.ids(), 4);
        assertThat(cluster.machine(restarted).commands()).containsExactly("a", "b", "c", "d");
    }

    private List<String> otherThan(String id) {
        List<String> out = new ArrayList<>(cluster.ids());
        out.remove(id);
        return out;
    }

    private static long indexOf(byte[] result) {
        String s = string(result);
        return Long.parseLong(s.substring(0, s.indexOf(':')));
    }
}
