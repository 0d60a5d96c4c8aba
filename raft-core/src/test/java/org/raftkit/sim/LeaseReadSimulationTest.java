package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The whole-node simulation with lease reads on ({@code NodeSimulation.Mode.LEASE_READS}): half the
 * linearizable reads go through {@code RaftServer.leaseRead}, and each machine's clock runs at its
 * own rate within the drift bound. The linearizability checker covers lease reads like any other,
 * under the same partitions, pauses, clock jumps, crashes and transfers. A small range runs in
 * {@code mvn verify}; more on demand:
 *
 * <pre>mvn -B -q -pl raft-core test -Dtest=LeaseReadSimulationTest -Dsim.seeds=2000 -Dsim.seed=1</pre>
 */
class LeaseReadSimulationTest {

    @Test
    void leaseReadsAreLinearizableUnderEveryFault() {
        long first = Long.getLong("sim.seed", 1);
        long count = Long.getLong("sim.seeds", 30);
        List<Long> failures = new ArrayList<>();
        long leaseReads = 0;
        long operations = 0;
        long started = System.nanoTime();
        for (long seed = first; seed < first + count; seed++) {
            NodeSimulation sim = new NodeSimulation(seed, NodeSimulation.Mode.LEASE_READS);
            NodeSimulation.Result r = sim.run();
            leaseReads += sim.leaseReadsAnswered();
            operations += r.operations();
            if (!r.passed()) {
                failures.add(seed);
                System.out.println("FAILED seed=" + seed + " (" + r.nodes() + " nodes): " + r.failure());
                System.out.println("  replay: mvn -B -q -pl raft-core test -Dtest=LeaseReadSimulationTest -Dsim.seed=" + seed
                        + " -Dsim.seeds=1");
                if (failures.size() <= 3) {
                    System.out.println("  last events:\n" + r.trace().indent(4));
                }
            }
        }
        System.out.printf("LEASE SIMULATION seeds=%d failures=%d (first seed %d; %d client calls, %d reads answered under a"
                + " lease; %.1f s)%n", count, failures.size(), first, operations, leaseReads, (System.nanoTime() - started) / 1e9);
        assertThat(failures).as("failed seeds (see FAILED lines above)").isEmpty();
        assertThat(leaseReads).as("leases were used, not just fallen back from").isPositive();
    }
}
