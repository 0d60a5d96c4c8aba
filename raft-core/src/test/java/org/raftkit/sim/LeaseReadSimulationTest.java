package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

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
        long[] totals = new long[2]; // reads answered under a lease, client calls
        SeedLoop.Outcome o = SeedLoop.run("LeaseReadSimulationTest", seed -> {
            NodeSimulation sim = new NodeSimulation(seed, NodeSimulation.Mode.LEASE_READS);
            NodeSimulation.Result r = sim.run();
            totals[0] += sim.leaseReadsAnswered();
            totals[1] += r.operations();
            return r;
        });
        System.out.printf("LEASE SIMULATION seeds=%d failures=%d (first seed %d; %d client calls, %d reads answered under a"
                + " lease; %.1f s)%n", o.count(), o.failures().size(), o.first(), totals[1], totals[0], o.seconds());
        assertThat(o.failures()).as("failed seeds (see FAILED lines above)").isEmpty();
        assertThat(totals[0]).as("leases were used, not just fallen back from").isPositive();
    }
}
