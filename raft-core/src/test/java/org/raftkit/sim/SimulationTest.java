package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * Runs the seeded whole-cluster simulation over a range of seeds. By default a small range runs
 * as part of {@code mvn verify}; more on demand:
 *
 * <pre>mvn -B -pl raft-core test -Dtest=SimulationTest -Dsim.seeds=2000 -Dsim.seed=1</pre>
 *
 * Prints {@code SIMULATION seeds=N failures=K} and, for each failure, the seed and the command
 * that replays it alone.
 */
class SimulationTest {

    @Test
    void everySeedIsSafeLinearizableAndConverges() {
        long first = Long.getLong("sim.seed", 1);
        long count = Long.getLong("sim.seeds", 100);
        List<Simulation.Result> failures = new ArrayList<>();
        long operations = 0;
        long ok = 0;
        long committed = 0;
        long changes = 0;
        long started = System.nanoTime();
        for (long seed = first; seed < first + count; seed++) {
            Simulation.Result r = new Simulation(seed).run();
            operations += r.operations();
            ok += r.okOperations();
            committed += r.committedIndex();
            changes += r.membershipChanges();
            if (!r.passed()) {
                failures.add(r);
                System.out.println("FAILED seed=" + seed + " (" + r.nodes() + " nodes): " + r.failure());
                System.out.println("  replay: mvn -B -pl raft-core test -Dtest=SimulationTest -Dsim.seed=" + seed
                        + " -Dsim.seeds=1");
                if (failures.size() <= 3) {
                    System.out.println("  last events:\n" + r.trace().indent(4));
                }
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("SIMULATION seeds=%d failures=%d (first seed %d; %d client ops, %d ok, %d entries committed;"
                + " %d configuration entries committed; %.1f s)%n", count, failures.size(), first, operations, ok,
                committed, changes, seconds);
        assertThat(failures).as("failed seeds (see FAILED lines above)").isEmpty();
    }
}
