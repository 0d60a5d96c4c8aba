package org.raftkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.raftkit.runtime.RecordingStateMachine.bytes;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;
import javax.management.ObjectName;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.memory.MemoryNetwork;
import org.raftkit.memory.MemoryTermVoteStore;
import org.raftkit.metrics.JmxMetrics;
import org.raftkit.runtime.Await;
import org.raftkit.runtime.RecordingStateMachine;
import org.raftkit.runtime.TestCluster;

/**
 * What an operator and an embedding application see of a running cluster: the listener's role and
 * leader changes, in order, and the metrics through JMX.
 */
class RaftServerObservabilityTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    /** One onRoleChange call. */
    record Change(Role role, long term, String leader) {
    }

    private final MemoryNetwork network = new MemoryNetwork(MemoryNetwork.Delivery.THREADED);
    private final MBeanServer jmx = MBeanServerFactory.newMBeanServer();
    private final JmxMetrics metrics = new JmxMetrics(jmx);
    private final Map<String, RaftServer> servers = new LinkedHashMap<>();
    private final Map<String, List<Change>> changes = new LinkedHashMap<>();

    @AfterEach
    void stop() {
        servers.values().forEach(RaftServer::close);
        network.close();
        metrics.close();
    }

    private void startThree() {
        List<String> ids = List.of("n1", "n2", "n3");
        for (String id : ids) {
            List<Change> seen = new CopyOnWriteArrayList<>();
            changes.put(id, seen);
            RaftServer server = RaftServer.builder().id(id).peers(ids).stateMachine(new RecordingStateMachine())
                    .logStorage(new MemoryLogStorage()).termVoteStore(new MemoryTermVoteStore())
                    .transport(network.transport(id)).config(TestCluster.fastConfig()).random(id.hashCode())
                    .metrics(metrics)
                    .listener(new RaftListener() {
                        @Override
                        public void onRoleChange(Role role, long term, String leaderId) {
                            seen.add(new Change(role, term, leaderId));
                        }
                    })
                    .build();
            servers.put(id, server);
        }
        servers.values().forEach(RaftServer::start);
    }

    private String awaitLeader(List<String> among) {
        String[] leader = new String[1];
        Await.await(WAIT, () -> {
            for (String id : among) {
                if (servers.get(id).status().isLeader()) {
                    leader[0] = id;
                    return true;
                }
            }
            return false;
        }, () -> "a leader among " + among);
        return leader[0];
    }

    @Test
    void roleAndLeaderChangesArriveInOrderAndEndWhereTheStatusIs() {
        startThree();
        String first = awaitLeader(List.copyOf(servers.keySet()));
        long firstTerm = servers.get(first).status().term();
        Await.await(WAIT, () -> changes.values().stream().allMatch(c -> !c.isEmpty()
                && first.equals(c.get(c.size() - 1).leader())), () -> "every node to hear of " + first + ": " + changes);
        List<Change> leaderSaw = changes.get(first);
        assertThat(leaderSaw.get(leaderSaw.size() - 1)).isEqualTo(new Change(Role.LEADER, firstTerm, first));
        // A leader was a candidate in its term first, and a pre-candidate before that (PreVote).
        assertThat(leaderSaw.stream().map(Change::role).toList())
                .containsSubsequence(Role.PRE_CANDIDATE, Role.CANDIDATE, Role.LEADER);

        // Cut the leader off: the others elect a new one, and the old one hears of it when healed.
        network.isolate(first);
        List<String> rest = servers.keySet().stream().filter(id -> !id.equals(first)).toList();
        String second = awaitLeader(rest);
        network.heal();
        Await.await(WAIT, () -> {
            List<Change> c = changes.get(first);
            return second.equals(c.get(c.size() - 1).leader());
        }, () -> first + " to hear of " + second + ": " + changes.get(first));

        for (Map.Entry<String, List<Change>> e : changes.entrySet()) {
            List<Change> seen = new ArrayList<>(e.getValue());
            for (int i = 1; i < seen.size(); i++) {
                assertThat(seen.get(i).term()).as(e.getKey() + " terms never go back: " + seen)
                        .isGreaterThanOrEqualTo(seen.get(i - 1).term());
                assertThat(seen.get(i)).as(e.getKey() + " is told only of changes: " + seen).isNotEqualTo(seen.get(i - 1));
            }
            for (Change c : seen) {
                if (c.role() == Role.LEADER) {
                    assertThat(c.leader()).as(e.getKey() + " leads when it says so").isEqualTo(e.getKey());
                }
            }
        }
        Change last = changes.get(first).get(changes.get(first).size() - 1);
        assertThat(last.role()).isEqualTo(Role.FOLLOWER);
        assertThat(last.term()).isGreaterThan(firstTerm);
    }

    @Test
    void aCutOffNodeIsToldOfItsRoleOnceNotAtEveryElectionAttempt() {
        startThree();
        String leader = awaitLeader(List.copyOf(servers.keySet()));
        String cutOff = servers.keySet().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
        network.isolate(cutOff);
        ObjectName node = JmxMetrics.objectName(Map.of("node", cutOff));
        // Several PreVote attempts (each an election timeout apart), counted by the metrics ...
        Await.await(WAIT, () -> attribute(node, "raftkit.prevotes.started") >= 4, () -> cutOff + " to try 4 times");
        List<Change> seen = new ArrayList<>(changes.get(cutOff));
        // ... but the listener heard of becoming pre-candidate once.
        assertThat(seen.stream().filter(c -> c.role() == Role.PRE_CANDIDATE && c.term() == seen.get(seen.size() - 1).term()))
                .as(seen.toString()).hasSize(1);
        for (int i = 1; i < seen.size(); i++) {
            assertThat(seen.get(i)).as(seen.toString()).isNotEqualTo(seen.get(i - 1));
        }
        network.heal();
    }

    @Test
    void jmxShowsCommitsLatenciesAndFollowerLag() throws Exception {
        startThree();
        String leader = awaitLeader(List.copyOf(servers.keySet()));
        for (int i = 0; i < 20; i++) {
            Await.value(servers.get(leader).submit(bytes("w" + i)), WAIT);
        }
        ObjectName node = JmxMetrics.objectName(Map.of("node", leader));
        Await.await(WAIT, () -> attribute(node, "raftkit.applies") >= 20, () -> "20 applies");
        assertThat((Long) jmx.getAttribute(node, "raftkit.proposals")).isEqualTo(20);
        assertThat((Long) jmx.getAttribute(node, "raftkit.commits")).isGreaterThanOrEqualTo(20);
        // The apply thread completes a write as soon as it is applied, which can be before the Raft
        // loop, in the same turn's later step, records the commit's latency: wait for it.
        Await.await(WAIT, () -> attribute(node, "raftkit.commit.latency.count") >= 20, () -> "20 commit latencies");
        assertThat((Long) jmx.getAttribute(node, "raftkit.commit.latency.count")).isEqualTo(20);
        assertThat((Long) jmx.getAttribute(node, "raftkit.commit.latency.p99")).isPositive();
        assertThat((Long) jmx.getAttribute(node, "raftkit.fsync.latency.count")).isPositive();
        assertThat((Long) jmx.getAttribute(node, "raftkit.role")).isEqualTo(3);
        assertThat((Long) jmx.getAttribute(node, "raftkit.term")).isEqualTo(servers.get(leader).status().term());
        String follower = servers.keySet().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
        ObjectName peer = JmxMetrics.objectName(Map.of("node", leader, "peer", follower));
        long last = servers.get(leader).status().lastLogIndex();
        Await.await(WAIT, () -> attribute(peer, "raftkit.follower.match.index") == last,
                () -> follower + " to match " + last);
        assertThat((Long) jmx.getAttribute(peer, "raftkit.follower.lag.entries")).isZero();
        assertThat(jmx.getMBeanInfo(node).getAttributes()).extracting(a -> a.getName())
                .contains("raftkit.busy.rejections", "raftkit.pending.requests", "raftkit.elections.started",
                        "raftkit.storage.queue", "raftkit.apply.queue");
    }

    private long attribute(ObjectName name, String attribute) {
        try {
            return (Long) jmx.getAttribute(name, attribute);
        } catch (javax.management.JMException e) {
            throw new AssertionError(e);
        }
    }
}
