package org.raftkit.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;

/**
 * The seed loop of a whole-node simulation test: runs seeds {@code -Dsim.seed} (default 1) to
 * {@code -Dsim.seed + -Dsim.seeds - 1} (default 30 seeds), and prints each failure with the
 * command that replays it alone and, for the first three, the run's last events.
 */
final class SeedLoop {

    /** What the loop ran and found. */
    record Outcome(long first, long count, List<Long> failures, double seconds) {
    }

    private SeedLoop() {
    }

    /**
     * @param testClass the test's simple name, for the replay command
     * @param run       runs one seed (the test keeps its own counters in it)
     */
    static Outcome run(String testClass, LongFunction<NodeSimulation.Result> run) {
        long first = Long.getLong("sim.seed", 1);
        long count = Long.getLong("sim.seeds", 30);
        List<Long> failures = new ArrayList<>();
        long started = System.nanoTime();
        for (long seed = first; seed < first + count; seed++) {
            NodeSimulation.Result r = run.apply(seed);
            if (!r.passed()) {
                failures.add(seed);
                System.out.println("FAILED seed=" + seed + " (" + r.nodes() + " nodes): " + r.failure());
                System.out.println("  replay: mvn -B -q -pl raft-core test -Dtest=" + testClass + " -Dsim.seed=" + seed
                        + " -Dsim.seeds=1");
                if (failures.size() <= 3) {
                    System.out.println("  last events:\n" + r.trace().indent(4));
                }
            }
        }
        return new Outcome(first, count, failures, (System.nanoTime() - started) / 1e9);
    }
}
