package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * Three {@code RaftServer}s over real loopback sockets, read like an operator's runbook: a leader
 * is elected and commits; a follower's write is forwarded to it; the leader goes away, another
 * takes over and writes go on; the old leader comes back on the same port and catches up.
 *
 * <p>Storage: in-memory stores that outlive a node's server, standing in for disk (see
 * {@code LoopbackCluster#openStorage}, the one method to change for {@code SegmentedLogStorage}
 * in temporary directories once that module is merged).
 */
class NettyClusterTest {

    private static final Duration WAIT = Duration.ofSeconds(15);

    @AutoClose
    private LoopbackCluster cluster;

    @Test
    void leaderFailsOverAndTheOldLeaderRejoinsOnTheSamePortAndCatchesUp() {
        cluster = new LoopbackCluster(3, LoopbackCluster.fastRaftConfig(), b -> b).startAll();

        // A leader is elected and commits; a follower's write is forwarded to it.
        String first = cluster.awaitLeader(WAIT);
        String follower = others(first).get(0);
        assertThat(cluster.submit(first, "a", WAIT)).endsWith(":a");
        assertThat(cluster.submit(follower, "b", WAIT)).as("forwarded to the leader").endsWith(":b");
        cluster.awaitSameApplied(WAIT, cluster.ids(), 2);

        // The leader goes away; the other two elect one of them and keep committing.
        cluster.stop(first);
        String second = cluster.awaitLeader(WAIT);
        assertThat(second).isNotEqualTo(first);
        cluster.submit(second, "c", WAIT);
        cluster.submit(others(second).stream().filter(id -> !id.equals(first)).findFirst().orElseThrow(), "d", WAIT);

        // The old leader restarts on the same port with its storage and catches up.
        cluster.start(first);
        assertThat(cluster.transport(first).localAddress()).isEqualTo(cluster.address(first));
        cluster.submit(second, "e", WAIT);
        List<String> applied = cluster.awaitSameApplied(WAIT, cluster.ids(), 5);
        assertThat(applied).containsExactly("a", "b", "c", "d", "e");
        assertThat(cluster.transport(first).stats().rejectedTotal()).isZero();
    }

    @Test
    void readsAndManyConcurrentWritesFromEveryNodeGoThrough() {
        cluster = new LoopbackCluster(3, LoopbackCluster.fastRaftConfig(), b -> b).startAll();
        String leader = cluster.awaitLeader(WAIT);
        List<java.util.concurrent.CompletableFuture<byte[]>> futures = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String on = cluster.ids().get(i % 3);
            futures.add(cluster.server(on).submit(org.raftkit.runtime.RecordingStateMachine.bytes("w" + i)));
        }
        for (var f : futures) {
            org.raftkit.runtime.Await.value(f, WAIT);
        }
        cluster.awaitSameApplied(WAIT, cluster.ids(), 300);
        String follower = others(leader).get(0);
        byte[] count = org.raftkit.runtime.Await.value(
                cluster.server(follower).read(org.raftkit.runtime.RecordingStateMachine.bytes("count")), WAIT);
        assertThat(org.raftkit.runtime.RecordingStateMachine.string(count)).isEqualTo("300");
        for (String id : cluster.ids()) {
            TransportStats s = cluster.transport(id).stats();
            assertThat(s.rejectedTotal()).as(id + " rejected nothing: " + s).isZero();
            assertThat(s.messagesReceived()).as(id + " received").isPositive();
        }
    }

    private List<String> others(String id) {
        List<String> out = new ArrayList<>(cluster.ids());
        out.remove(id);
        return out;
    }
}
