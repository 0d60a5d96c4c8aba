package org.raftkit.sim;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/** The network faults both simulators' nemeses inject, each drawn from the run's random and noted in its trace. */
final class NetworkFaults {

    private NetworkFaults() {
    }

    /** Cuts every link between a random side and the rest (either side may be empty or whole). */
    static void partition(SimContext ctx, SimNetwork net, List<String> ids) {
        SplittableRandom random = ctx.random;
        Set<String> side = new HashSet<>();
        for (String id : ids) {
            if (random.nextBoolean()) {
                side.add(id);
            }
        }
        net.partition(side);
        ctx.note("partitioned " + side + " from the rest");
    }

    /** Cuts one random link in one direction. */
    static void cutOneWay(SimContext ctx, SimNetwork net, List<String> ids) {
        SplittableRandom random = ctx.random;
        String a = ids.get(random.nextInt(ids.size()));
        String b = ids.get(random.nextInt(ids.size()));
        if (!a.equals(b)) {
            net.cutOneWay(a, b);
            ctx.note("cut " + a + " -> " + b + " one way");
        }
    }

    /** Bad weather: loss, duplicates, jitter, perhaps reordering. */
    static void storm(SimContext ctx, SimNetwork net) {
        net.storm();
        ctx.note("storm: loss " + net.lossRate + " duplicates " + net.duplicateRate + " jitter " + net.jitterMicros
                + " us" + (net.reorder ? ", reordering" : ""));
    }
}
