package org.raftkit.sim;

import static org.raftkit.sim.Simulation.MILLIS;
import static org.raftkit.sim.Simulation.SECONDS;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.raftkit.RaftServer;
import org.raftkit.sim.NodeCluster.Member;
import org.raftkit.sim.SimContext.Event;

/**
 * The whole-node simulation's faults, drawn from the seed: everything the core simulator injects
 * (partitions of every shape, storms of loss, duplication and reordering, crashes and restarts,
 * pauses, slow disks), and what only a whole node has: crash loops while calls are in flight, a
 * crash in the middle of a sync, a disk that loses its last synced entries, messages delivered
 * seconds late (to the next incarnation), a slow or stalled state machine, and clock jumps.
 */
final class NodeNemesis {

    private final SimContext ctx;
    private final SplittableRandom random;
    private final NodeCluster cluster;
    private final NodeNetwork network;
    private final SimNetwork net;
    private boolean over;

    /** Set by the simulation: sends bursts of load (null: none). */
    NodeClients clients;

    /**
     * Also asks leaders to hand leadership over now and then (the lease simulation). Off by
     * default, so that other runs draw exactly as before.
     */
    boolean transfers;

    NodeNemesis(SimContext ctx, NodeCluster cluster, NodeNetwork network) {
        this.ctx = ctx;
        this.random = ctx.random;
        this.cluster = cluster;
        this.network = network;
        this.net = network.links();
        cluster.onMidTurnCrash = this::restartSoonAfterMidTurnCrash;
    }

    void start() {
        ctx.schedule(200 * MILLIS + random.nextLong(SECONDS), new NextFault());
    }

    /** Heals everything: network, disks, state machines, clocks; restarts every node that is down. */
    void stopAndHeal() {
        over = true;
        net.heal();
        net.calm();
        network.lateRate = 0;
        for (Member m : cluster.members()) {
            m.disk.disarm();
            if (m.scheduler != null) {
                m.scheduler.pausedUntil = 0;
                m.scheduler.diskSlowFactor = 1;
                m.scheduler.applyMicros = 0;
            }
            cluster.restart(m);
        }
        ctx.note("healed everything");
    }

    private void injectFault() {
        if (over) {
            return;
        }
        List<String> ids = cluster.ids();
        List<Member> up = new ArrayList<>();
        for (Member m : cluster.members()) {
            if (m.isUp()) {
                up.add(m);
            }
        }
        Member anyUp = up.isEmpty() ? null : up.get(random.nextInt(up.size()));
        if (transfers && random.nextInt(6) == 0) {
            Member leader = anyLeader(up);
            if (leader != null) {
                // The transfer's election does not wait for the old leader's lease (thesis §3.10).
                ctx.note("leader " + leader.id + " is asked to hand leadership over");
                leader.server.transferLeadership();
            }
            ctx.schedule(ctx.now() + 100 * MILLIS + random.nextLong(2 * SECONDS), new NextFault());
            return;
        }
        int dice = random.nextInt(100);
        if (dice < 14) {
            net.heal();
            if (random.nextBoolean()) {
                net.calm();
            }
            network.lateRate = 0;
            ctx.note("network healed");
        } else if (dice < 22) {
            String victim = ids.get(random.nextInt(ids.size()));
            net.isolate(victim);
            ctx.note("isolated " + victim);
        } else if (dice < 30) {
            for (Member m : up) {
                RaftServer s = m.server;
                if (s.status().isLeader()) {
                    net.isolate(m.id);
                    ctx.note("isolated leader " + m.id);
                    break;
                }
            }
        } else if (dice < 37) {
            NetworkFaults.partition(ctx, net, ids);
        } else if (dice < 40) {
            NetworkFaults.cutOneWay(ctx, net, ids);
        } else if (dice < 47) {
            NetworkFaults.storm(ctx, net);
        } else if (dice < 51) {
            network.lateRate = network.lateRate == 0 ? 0.002 + random.nextDouble() * 0.02 : 0;
            ctx.note("late deliveries at rate " + network.lateRate);
        } else if (dice < 61) {
            if (anyUp != null) {
                cluster.crash(anyUp, random.nextInt(3) == 0 ? NodeCluster.Loss.SOME_SAFE : NodeCluster.Loss.NONE);
                if (random.nextInt(4) == 0) {
                    damageNewestSnapshot(anyUp);
                }
                restartLater(anyUp, 100 * MILLIS + random.nextLong(3 * SECONDS));
            }
        } else if (dice < 63) {
            Member follower = anyFollower(up);
            if (follower != null) {
                // A follower's disk loses what it acknowledged (a lying write cache, a restored
                // backup) and the node is back at once, under the same leader, which still believes
                // the old matchIndex: it must repair the follower in a few round trips.
                cluster.crash(follower, NodeCluster.Loss.ALL_SAFE);
                restartLater(follower, 100 + random.nextLong(20 * MILLIS));
            }
        } else if (dice < 66) {
            if (anyUp != null) {
                crashLoop(anyUp, 2 + random.nextInt(4));
            }
        } else if (dice < 72) {
            if (anyUp != null) {
                anyUp.disk.armCrashAtNextSync();
                ctx.note(anyUp.id + " will lose power during its next sync");
            }
        } else if (dice < 79) {
            if (anyUp != null) {
                anyUp.scheduler.pausedUntil = ctx.now() + 20 * MILLIS + random.nextLong(1_500 * MILLIS);
                ctx.note(anyUp.id + " paused until " + anyUp.scheduler.pausedUntil / MILLIS + " ms");
            }
        } else if (dice < 85) {
            if (anyUp != null) {
                SimScheduler s = anyUp.scheduler;
                // Now and then very slow (a disk at its limit, or a failing one): up to two seconds a
                // write, longer than a request's timeout, so calls time out while their entries wait.
                s.diskSlowFactor = s.diskSlowFactor > 1 ? 1
                        : random.nextInt(3) == 0 ? 1_000 + random.nextLong(40_000) : 20 + random.nextLong(100);
                ctx.note(anyUp.id + " disk slowed by " + s.diskSlowFactor + "x");
            }
        } else if (dice < 93) {
            if (anyUp != null) {
                SimScheduler s = anyUp.scheduler;
                // A slow state machine, now and then one that stalls for a second or two.
                s.applyMicros = s.applyMicros > 0 ? 0
                        : random.nextInt(4) == 0 ? SECONDS + random.nextLong(SECONDS) : MILLIS + random.nextLong(50 * MILLIS);
                ctx.note(anyUp.id + " applies with " + s.applyMicros / MILLIS + " ms per turn");
            }
        } else if (dice < 95) {
            if (clients != null) {
                clients.burst(50 + random.nextInt(400));
            }
        } else if (dice < 96) {
            Member leader = anyLeader(up);
            if (clients != null && leader != null) {
                // Overload against a slow disk: its writes take longer than a call's timeout, and
                // new calls keep coming as the old ones give up.
                long until = ctx.now() + SECONDS + random.nextLong(4 * SECONDS);
                leader.scheduler.diskSlowFactor = 1_000 + random.nextLong(20_000);
                ctx.note("a flood of writes through leader " + leader.id + " until " + until / MILLIS
                        + " ms, its disk slowed by " + leader.scheduler.diskSlowFactor + "x");
                clients.flood(leader.id, until);
            }
        } else if (dice < 97) {
            if (anyUp != null) {
                ctx.note(anyUp.id + " is asked for a snapshot");
                anyUp.server.snapshot();
            }
        } else {
            if (anyUp != null) {
                long jump = 50 * MILLIS + random.nextLong(3 * SECONDS);
                anyUp.scheduler.jumpClock(jump);
                ctx.note(anyUp.id + " clock jumped " + jump / MILLIS + " ms forward");
            }
        }
        ctx.schedule(ctx.now() + 100 * MILLIS + random.nextLong(2 * SECONDS), new NextFault());
    }

    /**
     * Flips a byte of a down node's newest snapshot, as a bad disk would, where the node can still
     * start: an older snapshot survives and the log still holds every entry after it (otherwise
     * refusing to start, naming the file, is the right answer, and the run could not go on).
     */
    private void damageNewestSnapshot(Member m) {
        var snapshots = m.snapshots.list();
        if (snapshots.size() < 2 || snapshots.get(1).index() < m.disk.durableFirstIndex() - 1) {
            return;
        }
        var newest = snapshots.get(0);
        m.snapshots.damage(newest, random.nextLong(newest.sizeBytes()));
        ctx.note(m.id + "'s snapshot at " + newest.index() + " was damaged on disk");
    }

    /** A node that is up and leads, or null. */
    private static Member anyLeader(List<Member> up) {
        for (Member m : up) {
            if (m.server.status().isLeader()) {
                return m;
            }
        }
        return null;
    }

    /** A node that is up and follows a leader, or null. */
    private Member anyFollower(List<Member> up) {
        List<Member> followers = new ArrayList<>();
        for (Member m : up) {
            if (!m.server.status().isLeader() && m.server.status().leaderId() != null) {
                followers.add(m);
            }
        }
        return followers.isEmpty() ? null : followers.get(random.nextInt(followers.size()));
    }

    /** Crashes and restarts a node several times in quick succession, while calls are in flight. */
    private void crashLoop(Member m, int times) {
        ctx.note(m.id + " enters a crash loop of " + times);
        long at = ctx.now();
        for (int i = 0; i < times; i++) {
            long crashAt = at + random.nextLong(5 * MILLIS, 150 * MILLIS);
            long restartAt = crashAt + random.nextLong(100, 20 * MILLIS);
            ctx.schedule(crashAt, new Event() {
                @Override
                void run() {
                    if (!over) {
                        cluster.crash(m, NodeCluster.Loss.NONE);
                    }
                }
            });
            ctx.schedule(restartAt, new Event() {
                @Override
                void run() {
                    cluster.restart(m);
                }
            });
            at = restartAt;
        }
    }

    private void restartSoonAfterMidTurnCrash() {
        for (Member m : cluster.members()) {
            if (!m.isUp()) {
                // Half the time back almost at once, so messages in flight to it reach the new incarnation.
                restartLater(m, random.nextBoolean() ? 100 + random.nextLong(3 * MILLIS) : 5 * MILLIS + random.nextLong(300 * MILLIS));
            }
        }
    }

    private void restartLater(Member m, long delay) {
        ctx.schedule(ctx.now() + delay, new Event() {
            @Override
            void run() {
                cluster.restart(m);
            }
        });
    }

    private final class NextFault extends Event {
        @Override
        void run() {
            injectFault();
        }
    }
}
