package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.junit.jupiter.api.Test;
import org.raftkit.RaftConfig;
import org.raftkit.Session;
import org.raftkit.SessionExpiredException;
import org.raftkit.SnapshotConfig;
import org.raftkit.sim.NodeCluster.Member;

/**
 * Sessions an application registers (thesis §6.3, {@code RaftServer.openSession}), through whole
 * servers: the id is the registration's index; a write sent again with its number, from a new
 * handle, on another node, after every node restarted from a snapshot, is answered with its first
 * result and applied once; a write in a session the cluster does not know is refused.
 */
class RegisteredSessionTest {

    private static final RaftConfig CONFIG = RaftConfig.defaults().withRequestTimeoutMillis(5_000);

    private static <T> T await(NodeScenario s, CompletableFuture<T> f) {
        for (int i = 0; i < 100 && !f.isDone(); i++) {
            s.runFor(20);
        }
        assertThat(f).as("completed within 2 s of virtual time").isDone();
        return f.join();
    }

    private static Throwable failure(NodeScenario s, CompletableFuture<?> f) {
        for (int i = 0; i < 100 && !f.isDone(); i++) {
            s.runFor(20);
        }
        return f.handle((ok, e) -> e instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : e).join();
    }

    private static String read(NodeScenario s, Member m, String key) {
        return NodeKvMachine.value(await(s, m.server.read(key.getBytes(StandardCharsets.UTF_8))));
    }

    @Test
    void aWriteSentAgainFromANewHandleOnAnotherNodeIsAnsweredWithItsFirstResult() {
        NodeScenario s = new NodeScenario(21, 3, CONFIG);
        Member leader = s.awaitLeader();
        Member follower = s.other(leader);
        Session opened = await(s, follower.server.openSession()); // forwarded to the leader
        assertThat(opened.id()).isPositive();
        assertThat(follower.server.status().appliedIndex()).isGreaterThanOrEqualTo(opened.id());

        byte[] first = await(s, opened.submit(1, SimKv.write("k", "v1")));
        NodeKvMachine.WriteResult r1 = NodeKvMachine.WriteResult.parse(first);

        // The application restarts, and sends write 1 again through the leader: answered, not applied.
        Session resumed = leader.server.session(opened.id());
        byte[] again = await(s, resumed.submit(1, SimKv.write("k", "v1")));
        assertThat(again).isEqualTo(first);
        byte[] second = await(s, resumed.submit(2, SimKv.write("k", "v2")));
        assertThat(NodeKvMachine.WriteResult.parse(second).index()).isGreaterThan(r1.index());
        // Write 2 went out with nothing below it open on this handle: its floor told the cluster
        // that write 1 was answered, and its result was forgotten. Sent again now, write 1 is
        // refused as given up (an unknown outcome, never a second apply), and v2 stays.
        assertThat(failure(s, resumed.submit(1, SimKv.write("k", "v1")))).isInstanceOf(org.raftkit.UnknownOutcomeException.class)
                .hasMessageContaining("below its session's floor");
        assertThat(read(s, leader, "k")).isEqualTo("v2");
    }

    @Test
    void twoSessionsGetTwoIdsAndKeepTheirNumbersApart() {
        NodeScenario s = new NodeScenario(22, 3, CONFIG);
        Member leader = s.awaitLeader();
        Session a = await(s, leader.server.openSession());
        Session b = await(s, s.other(leader).server.openSession());
        assertThat(a.id()).isNotEqualTo(b.id());
        await(s, a.submit(1, SimKv.write("a", "1")));
        await(s, b.submit(1, SimKv.write("b", "1")));
        assertThat(read(s, leader, "a")).isEqualTo("1");
        assertThat(read(s, leader, "b")).as("b's write 1 is its own, not a repeat of a's").isEqualTo("1");
    }

    @Test
    void aWriteInASessionTheClusterDoesNotKnowIsRefusedAndChangesNothing() {
        NodeScenario s = new NodeScenario(23, 3, CONFIG);
        Member leader = s.awaitLeader();
        Member follower = s.other(leader);
        await(s, leader.server.submit(SimKv.write("x", "0")));
        // Index 1 is the bootstrap configuration, not a registration.
        assertThat(failure(s, leader.server.session(1).submit(1, SimKv.write("x", "leader"))))
                .isInstanceOf(SessionExpiredException.class).hasMessageContaining("session 1 is unknown");
        assertThat(failure(s, follower.server.session(1).submit(1, SimKv.write("x", "follower"))))
                .as("through a follower: the leader's refusal, typed").isInstanceOf(SessionExpiredException.class);
        assertThat(read(s, leader, "x")).isEqualTo("0");
        assertThatThrownBy(() -> leader.server.session(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theSameNumberCannotBeInFlightTwiceOnOneHandle() {
        NodeScenario s = new NodeScenario(24, 3, CONFIG);
        Member leader = s.awaitLeader();
        Session session = await(s, leader.server.openSession());
        CompletableFuture<byte[]> first = session.submit(1, SimKv.write("k", "a"));
        assertThatThrownBy(() -> session.submit(1, SimKv.write("k", "b"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("already has write 1 in flight");
        assertThatThrownBy(() -> session.submit(0, SimKv.write("k", "b"))).isInstanceOf(IllegalArgumentException.class);
        await(s, first);
        assertThat(read(s, leader, "k")).isEqualTo("a");
    }

    @Test
    void aSessionOutlivesARestartOfEveryNodeFromASnapshot() {
        NodeScenario s = new NodeScenario(25, 3, CONFIG, SnapshotConfig.defaults(), id -> new NodeKvMachine());
        Member leader = s.awaitLeader();
        Session session = await(s, leader.server.openSession());
        byte[] first = await(s, session.submit(1, SimKv.write("k", "v1")));
        for (Member m : s.cluster.members()) {
            await(s, m.server.snapshot());
        }
        for (Member m : s.cluster.members()) {
            s.cluster.crash(m, NodeCluster.Loss.NONE);
        }
        for (Member m : s.cluster.members()) {
            s.cluster.restart(m);
        }
        Member newLeader = s.awaitLeader();
        assertThat(newLeader.snapshots.list()).isNotEmpty();
        assertThat(await(s, newLeader.server.session(session.id()).submit(1, SimKv.write("k", "v1")))).isEqualTo(first);
        assertThat(read(s, newLeader, "k")).isEqualTo("v1");
    }
}
