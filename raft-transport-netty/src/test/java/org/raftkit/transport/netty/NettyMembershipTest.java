package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.raftkit.runtime.RecordingStateMachine.bytes;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.raftkit.ClusterConfiguration;
import org.raftkit.MembershipChangeException;
import org.raftkit.runtime.Await;

/**
 * The transport learns its members from the configuration (one source of truth): a node that no
 * peer list names joins over real sockets once a leader adds it with its address, and a removed
 * node's connections are dropped.
 */
class NettyMembershipTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @AutoClose
    private LoopbackCluster cluster;

    @Test
    void aNodeNoPeerListNamesIsAddedByAddressCatchesUpAndReplacesAVoter() throws Exception {
        cluster = new LoopbackCluster(3, LoopbackCluster.fastRaftConfig(), b -> b).startAll();
        String leader = cluster.awaitLeader(WAIT);
        Await.value(cluster.server(leader).submit(bytes("before")), WAIT);
        cluster.startJoining("n4");
        InetSocketAddress n4 = cluster.address("n4");
        String old = cluster.ids().stream().filter(id -> !id.equals(leader) && !id.equals("n4")).findFirst()
                .orElseThrow();

        ClusterConfiguration after = Await.value(cluster.server(leader).replaceMember(old, "n4",
                n4.getHostString() + ":" + n4.getPort()), WAIT);

        assertThat(after.voters()).contains("n4").doesNotContain(old);
        Await.await(WAIT, () -> cluster.server("n4").configuration().voters().contains("n4"),
                () -> "n4 to learn it is a voter");
        Await.value(cluster.server("n4").submit(bytes("through n4")), WAIT); // forwarded over n4's new links
        Await.await(WAIT, () -> !cluster.transport(leader).stats().connectedPeers().containsKey(old),
                () -> "the leader's transport to drop " + old + ": " + cluster.transport(leader).stats());
        // The write completed when the leader applied it; n4 applies it once it hears the commit index.
        Await.await(WAIT, () -> cluster.machine("n4").applied().stream().anyMatch(c -> c.endsWith("=through n4")),
                () -> "n4 to apply its own write: " + cluster.machine("n4").applied());
        assertThat(cluster.machine("n4").applied()).anyMatch(c -> c.endsWith("=before"));
    }

    @Test
    void anAddressThatDoesNotParseLeavesTheMemberUnreachableAndPromotionIsRefused() throws Exception {
        cluster = new LoopbackCluster(3, LoopbackCluster.fastRaftConfig(), b -> b).startAll();
        String leader = cluster.awaitLeader(WAIT);
        Await.value(cluster.server(leader).submit(bytes("a")), WAIT);

        Await.value(cluster.server(leader).addLearner("n9", "no-port-here"), WAIT);
        CompletableFuture<ClusterConfiguration> promote = cluster.server(leader).promote("n9");

        Throwable t = Await.failure(promote, WAIT);
        assertThat(((MembershipChangeException) t).reason()).isEqualTo(MembershipChangeException.Reason.LEARNER_NOT_CAUGHT_UP);
        Await.value(cluster.server(leader).submit(bytes("b")), WAIT); // the cluster commits throughout
        Await.value(cluster.server(leader).removeMember("n9"), WAIT);
        assertThat(cluster.server(leader).configuration().member("n9")).isNull();
    }
}
