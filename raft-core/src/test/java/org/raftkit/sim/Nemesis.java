package org.raftkit.sim;

import static org.raftkit.sim.Simulation.MILLIS;
import static org.raftkit.sim.Simulation.SECONDS;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import org.raftkit.Role;
import org.raftkit.core.Ready;
import org.raftkit.sim.SimCluster.SimNode;
import org.raftkit.sim.SimContext.Event;

/**
 * The faults: every so often, until the final heal, one of partitions, isolations, one-way cuts,
 * bridges, message storms, crashes, pauses and slow disks; and, aimed rather than random, a crash
 * right before the sync that makes a promise durable.
 */
final class Nemesis {

    private final SimContext ctx;
    private final SplittableRandom random;
    private final SimCluster cluster;
    private final SimNetwork net;
    private boolean faultsOver;
    /** Percent of promising Readies after which the nemesis crashes the node before its sync. */
    private final int aimedCrashPercent;
    private long nextAimedCrashAllowed;

    Nemesis(SimContext ctx, SimCluster cluster, SimNetwork net, int aimedCrashPercent) {
        this.ctx = ctx;
        this.random = ctx.random;
        this.cluster = cluster;
        this.net = net;
        this.aimedCrashPercent = aimedCrashPercent;
    }

    /** Schedules the first fault. */
    void start() {
        ctx.schedule(200 * MILLIS + random.nextLong(SECONDS), new NextFault());
    }

    /** No fault from now on; the one already scheduled does nothing. */
    void stop() {
        faultsOver = true;
    }

    private void injectFault() {
        if (faultsOver) {
            return;
        }
        List<String> ids = cluster.ids();
        int dice = random.nextInt(100);
        List<SimNode> up = new ArrayList<>();
        for (String id : ids) {
            if (cluster.node(id).core != null) {
                up.add(cluster.node(id));
            }
        }
        if (dice < 20) {
            net.heal();
            if (random.nextBoolean()) {
                net.calm();
            }
            ctx.note("network healed");
        } else if (dice < 32) {
            String victim = ids.get(random.nextInt(ids.size()));
            net.isolate(victim);
            ctx.note("isolated " + victim);
        } else if (dice < 42) {
            for (SimNode n : up) {
                if (n.core.role() == Role.LEADER) {
                    net.isolate(n.id);
                    ctx.note("isolated leader " + n.id);
                    break;
                }
            }
        } else if (dice < 52) {
            NetworkFaults.partition(ctx, net, ids);
        } else if (dice < 57) {
            NetworkFaults.cutOneWay(ctx, net, ids);
        } else if (dice < 62) {
            // A bridge: two groups that reach each other only through one node.
            String bridge = ids.get(random.nextInt(ids.size()));
            Set<String> side = new HashSet<>();
            for (String id : ids) {
                if (!id.equals(bridge) && random.nextBoolean()) {
                    side.add(id);
                }
            }
            for (String a : ids) {
                for (String b : ids) {
                    if (!a.equals(bridge) && !b.equals(bridge) && side.contains(a) != side.contains(b)) {
                        net.cutOneWay(a, b);
                    }
                }
            }
            ctx.note("bridge through " + bridge + " between " + side + " and the rest");
        } else if (dice < 72) {
            NetworkFaults.storm(ctx, net);
        } else if (dice < 84) {
            if (!up.isEmpty()) {
                SimNode victim = up.get(random.nextInt(up.size()));
                cluster.crash(victim);
                ctx.schedule(ctx.now() + 100 * MILLIS + random.nextLong(3 * SECONDS), new Restart(victim, victim.incarnation));
            }
        } else if (dice < 92) {
            if (!up.isEmpty()) {
                SimNode victim = up.get(random.nextInt(up.size()));
                if (!victim.paused) {
                    cluster.pause(victim, 20 * MILLIS + random.nextLong(1_500 * MILLIS));
                }
            }
        } else {
            SimNode victim = cluster.node(ids.get(random.nextInt(ids.size())));
            victim.diskSlowFactor = victim.diskSlowFactor == 1 ? 20 + random.nextLong(100) : 1;
            ctx.note(victim.id + " disk slowed by " + victim.diskSlowFactor + "x");
        }
        ctx.schedule(ctx.now() + 100 * MILLIS + random.nextLong(2 * SECONDS), new NextFault());
    }

    /**
     * The worst moment to crash: right after a Ready that promises something (a vote, a new term,
     * an acknowledgement) and before the sync that makes it durable. Random crashes almost never
     * land in that window, so the nemesis aims for it, and restarts the node soon enough for it to
     * take part in the same election or catch-up again. A driver that sent a promise before it
     * was durable fails here.
     */
    void maybeCrashBeforeSync(SimNode n, Ready r) {
        if (faultsOver || ctx.now() < nextAimedCrashAllowed || random.nextInt(100) >= aimedCrashPercent) {
            return;
        }
        boolean promises = r.termAndVote() != null || !r.messagesAfterPersist().isEmpty();
        if (!promises) {
            return;
        }
        nextAimedCrashAllowed = ctx.now() + 200 * MILLIS;
        SimNode victim = n;
        ctx.schedule(ctx.now() + 1, new Event() {
            @Override
            void run() {
                if (victim.core != null && victim.syncing + victim.diskQueue.size() > 0) {
                    ctx.note(victim.id + " crashes before its sync (aimed)");
                    cluster.crash(victim);
                    // Half the time back almost at once, so requests still in flight to it (a
                    // rival candidate's RequestVote, a retried AppendEntries) reach the new
                    // incarnation, as messages delayed in a network do.
                    long down = random.nextBoolean() ? 100 + random.nextLong(3 * MILLIS)
                            : 5 * MILLIS + random.nextLong(300 * MILLIS);
                    ctx.schedule(ctx.now() + down, new Restart(victim, victim.incarnation));
                }
            }
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    private final class NextFault extends Event {
        @Override
        void run() {
            injectFault();
        }
    }

    private final class Restart extends Event {
        private final SimNode n;
        private final int incarnation;

        Restart(SimNode n, int incarnation) {
            this.n = n;
            this.incarnation = incarnation;
        }

        @Override
        void run() {
            if (n.core == null && n.incarnation == incarnation) {
                cluster.restart(n);
            }
        }
    }
}
