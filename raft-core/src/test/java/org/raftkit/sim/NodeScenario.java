package org.raftkit.sim;

import static org.raftkit.sim.Simulation.MILLIS;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import org.raftkit.RaftConfig;
import org.raftkit.SnapshotConfig;
import org.raftkit.RaftServer;
import org.raftkit.StateMachine;
import org.raftkit.message.Entry;
import org.raftkit.sim.NodeCluster.Member;

/**
 * A scripted run of whole nodes in virtual time, for tests that rebuild one scenario step by step
 * (no nemesis: the test is the nemesis). Calm network, seeded like everything else.
 */
final class NodeScenario {

    final SimContext ctx;
    final NodeNetwork network;
    final NodeCluster cluster;

    NodeScenario(long seed, int nodes, RaftConfig config) {
        this(seed, nodes, config, id -> new NodeKvMachine());
    }

    NodeScenario(long seed, int nodes, RaftConfig config, Function<String, StateMachine> machines) {
        this(seed, nodes, config, null, machines);
    }

    /** With snapshots taken as {@code snapshots} says (null: none). */
    NodeScenario(long seed, int nodes, RaftConfig config, SnapshotConfig snapshots,
                 Function<String, StateMachine> machines) {
        ctx = new SimContext(seed);
        List<String> ids = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            ids.add("n" + i);
        }
        long carries = Math.max(Math.max(config.maxAppendBytes(), config.maxCommandBytes() + Entry.SESSION_HEADER_BYTES + Entry.OVERHEAD_BYTES),
                snapshots == null ? 0 : snapshots.chunkBytes() + 64L);
        network = new NodeNetwork(ctx, new SimNetwork(ctx.random.split(), ids), carries);
        cluster = new NodeCluster(ctx, ids, config, snapshots, network, machines);
        cluster.digest = machine -> machine instanceof NodeKvMachine kv ? kv.digest() : null;
        for (String id : ids) {
            cluster.restart(cluster.member(id));
        }
    }

    void runFor(long millis) {
        ctx.runUntil(ctx.now() + millis * MILLIS);
    }

    /** Runs until some node leads and every node knows it; returns the leader. */
    Member awaitLeader() {
        for (int i = 0; i < 100; i++) {
            runFor(50);
            Member leader = null;
            boolean allKnow = true;
            for (Member m : cluster.members()) {
                if (!m.isUp()) {
                    continue;
                }
                if (m.server.status().isLeader()) {
                    leader = m;
                }
            }
            if (leader != null) {
                for (Member m : cluster.members()) {
                    if (m.isUp() && !leader.id.equals(m.server.status().leaderId())) {
                        allKnow = false;
                    }
                }
                if (allKnow) {
                    return leader;
                }
            }
        }
        throw new IllegalStateException("no leader within 5 s");
    }

    /** A member other than {@code not}. */
    Member other(Member not) {
        for (Member m : cluster.members()) {
            if (m != not) {
                return m;
            }
        }
        throw new IllegalStateException("one node only");
    }

    RaftServer server(Member m) {
        return m.server;
    }
}
