package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

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
        long first = Long.getLong("sim.seed", 1);
        long count = Long.getLong("sim.seeds", 30);
        List<Long> failures = new ArrayList<>();
        long resent = 0;
        long answeredAfterResend = 0;
        long operations = 0;
        long started = System.nanoTime();
        for (long seed = first; seed < first + count; seed++) {
            NodeSimulation sim = new NodeSimulation(seed, NodeSimulation.Mode.APP_SESSIONS);
            NodeSimulation.Result r = sim.run();
            resent += sim.sessionResends()[0];
            answeredAfterResend += sim.sessionResends()[1];
            operations += r.operations();
            if (!r.passed()) {
                failures.add(seed);
                System.out.println("FAILED seed=" + seed + " (" + r.nodes() + " nodes): " + r.failure());
                System.out.println("  replay: mvn -B -q -pl raft-core test -Dtest=SessionSimulationTest -Dsim.seed=" + seed
                        + " -Dsim.seeds=1");
                if (failures.size() <= 3) {
                    System.out.println("  last events:\n" + r.trace().indent(4));
                }
            }
        }
        System.out.printf("SESSION SIMULATION seeds=%d failures=%d (first seed %d; %d client calls, %d writes sent again,"
                + " %d answered after being sent again; %.1f s)%n", count, failures.size(), first, operations, resent,
                answeredAfterResend, (System.nanoTime() - started) / 1e9);
        assertThat(failures).as("failed seeds (see FAILED lines above)").isEmpty();
        assertThat(answeredAfterResend).as("writes were sent again and answered").isPositive();
    }
}
