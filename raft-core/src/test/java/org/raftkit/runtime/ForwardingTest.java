package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.raftkit.runtime.RecordingStateMachine.bytes;
import static org.raftkit.runtime.RecordingStateMachine.string;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.raftkit.ReadTimeoutException;
import org.raftkit.UnknownOutcomeException;
import org.raftkit.message.ClientReply;
import org.raftkit.message.ClientRequest;
import org.raftkit.message.Message;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.spi.Transport;

/** The ClientRequest/ClientReply protocol between nodes, and what a caller sees when answers are lost. */
class ForwardingTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    /** Closed after each test, whatever it left running. */
    @AutoClose
    private TestCluster cluster;

    @Test
    void leaderAnswersForwardedWritesAndReadsAndFollowerNamesTheLeader() {
        cluster = new TestCluster("f", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        String follower = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
        List<Message> replies = Collections.synchronizedList(new ArrayList<>());
        Transport probe = cluster.network().transport("probe");
        probe.start(replies::add);

        probe.send(new ClientRequest("probe", leader, 1, ClientRequest.Kind.WRITE, Sessions.wrap(Sessions.nodeSessionId(99), 1, 1, bytes("w"))));
        Await.await(WAIT, () -> replies.size() == 1);
        probe.send(new ClientRequest("probe", leader, 2, ClientRequest.Kind.READ, bytes("last")));
        probe.send(new ClientRequest("probe", follower, 3, ClientRequest.Kind.WRITE, Sessions.wrap(Sessions.nodeSessionId(99), 2, 1, bytes("x"))));
        Await.await(WAIT, () -> replies.size() == 3);

        ClientReply write = reply(replies, 1);
        assertThat(write.status()).isEqualTo(ClientReply.Status.OK);
        assertThat(string(write.result())).endsWith(":w");
        ClientReply read = reply(replies, 2);
        assertThat(read.status()).isEqualTo(ClientReply.Status.OK);
        assertThat(string(read.result())).isEqualTo("w");
        ClientReply refused = reply(replies, 3);
        assertThat(refused.status()).isEqualTo(ClientReply.Status.NOT_LEADER);
        assertThat(refused.leaderHint()).isEqualTo(leader);
    }

    @Test
    void aForwardedWriteDeliveredTwiceIsAppliedOnceAndBothCopiesGetTheFirstResult() {
        cluster = new TestCluster("d", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        List<Message> replies = Collections.synchronizedList(new ArrayList<>());
        Transport probe = cluster.network().transport("probe");
        probe.start(replies::add);
        byte[] command = Sessions.wrap(Sessions.nodeSessionId(7), 1, 1, bytes("once"));

        probe.send(new ClientRequest("probe", leader, 1, ClientRequest.Kind.WRITE, command));
        probe.send(new ClientRequest("probe", leader, 2, ClientRequest.Kind.WRITE, command));
        Await.await(WAIT, () -> replies.size() == 2);

        assertThat(reply(replies, 1).status()).isEqualTo(ClientReply.Status.OK);
        assertThat(reply(replies, 2).status()).isEqualTo(ClientReply.Status.OK);
        assertThat(string(reply(replies, 2).result())).isEqualTo(string(reply(replies, 1).result()));
        assertThat(cluster.awaitSameApplied(WAIT, cluster.ids(), 1)).containsExactly("2=once");
    }

    @Test
    void aForwardedWriteWithoutASessionHeaderIsRefusedAndNothingIsAppended() {
        cluster = new TestCluster("h", 3, TestCluster.fastConfig()).startAll();
        String leader = cluster.awaitLeader(WAIT);
        List<Message> replies = Collections.synchronizedList(new ArrayList<>());
        Transport probe = cluster.network().transport("probe");
        probe.start(replies::add);

        probe.send(new ClientRequest("probe", leader, 1, ClientRequest.Kind.WRITE, bytes("raw")));
        Await.await(WAIT, () -> replies.size() == 1);

        ClientReply refused = reply(replies, 1);
        assertThat(refused.status()).isEqualTo(ClientReply.Status.BUSY);
        assertThat(refused.detail()).contains("session header");
        assertThat(cluster.server(leader).status().lastLogIndex()).as("only the no-op").isEqualTo(1);
    }

    @Test
    void forwardedWriteWhoseReplyIsLostEndsInUnknownOutcomeYetIsApplied() {
        cluster = new TestCluster("u", 3, TestCluster.fastConfig().withRequestTimeoutMillis(500)).startAll();
        String leader = cluster.awaitLeader(WAIT);
        String follower = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
        cluster.network().dropIf(m -> m instanceof ClientReply);

        Throwable t = Await.failure(cluster.server(follower).submit(bytes("maybe")), WAIT);

        assertThat(t).isInstanceOf(UnknownOutcomeException.class).isNotInstanceOf(ReadTimeoutException.class);
        assertThat(cluster.awaitSameApplied(WAIT, cluster.ids(), 1)).containsExactly("2=maybe");
    }

    @Test
    void followerReadWhoseReadIndexIsLostTimesOutAsReadTimeout() {
        cluster = new TestCluster("r", 3, TestCluster.fastConfig().withRequestTimeoutMillis(500)).startAll();
        String leader = cluster.awaitLeader(WAIT);
        String follower = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
        cluster.network().dropIf(m -> m instanceof ReadIndexReply);

        Throwable t = Await.failure(cluster.server(follower).read(bytes("last")), WAIT);

        assertThat(t).isInstanceOf(ReadTimeoutException.class);
        cluster.network().heal();
        assertThat(string(Await.value(cluster.server(follower).read(bytes("count")), WAIT))).isEqualTo("0");
    }

    private static ClientReply reply(List<Message> replies, long requestId) {
        synchronized (replies) {
            for (Message m : replies) {
                if (m instanceof ClientReply r && r.requestId() == requestId) {
                    return r;
                }
            }
        }
        throw new AssertionError("no reply to request " + requestId + " in " + replies);
    }
}
