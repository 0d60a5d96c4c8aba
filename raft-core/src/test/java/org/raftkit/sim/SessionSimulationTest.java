package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The whole-node simulation with clients that write through registered sessions
 * ({@code NodeSimulation.Mode.APP_SESSIONS}) and send every write whose outcome they did not learn
 * again, with the same number, through a fresh handle on a random node, until it is answered.
 * Under every fault, each write must take effect once (the cluster checks that no command is
 * applied at two indexes, and every answer is the command's own first result) and the history must
 * stay linearizable. A small range runs in {@code mvn verify}; more on demand:
 *
 * <pre>mvn -B -q -pl raft-core test -Dtest=SessionSimulationTest -Dsim.seeds=2000 -Dsim.seed=1</pre>
 */
class SessionSimulationTest {

    @Test
    void writesSentAgainInTheirSessionTakeEffectOnce() {
        long[] totals = new long[3]; // writes sent again, answered after being sent again, client calls
        SeedLoop.Outcome o = SeedLoop.run("SessionSimulationTest", seed -> {
            NodeSimulation sim = new NodeSimulation(seed, NodeSimulation.Mode.APP_SESSIONS);
            NodeSimulation.Result r = sim.run();
            totals[0] += sim.sessionResends()[0];
            totals[1] += sim.sessionResends()[1];
            totals[2] += r.operations();
            return r;
        });
        System.out.printf("SESSION SIMULATION seeds=%d failures=%d (first seed %d; %d client calls, %d writes sent again,"
                + " %d answered after being sent again; %.1f s)%n", o.count(), o.failures().size(), o.first(), totals[2],
                totals[0], totals[1], o.seconds());
        assertThat(o.failures()).as("failed seeds (see FAILED lines above)").isEmpty();
        assertThat(totals[1]).as("writes were sent again and answered").isPositive();
    }
}
