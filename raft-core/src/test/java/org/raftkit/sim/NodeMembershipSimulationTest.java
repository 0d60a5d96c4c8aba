package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * Runs the whole-node simulation with membership churn ({@link NodeMembershipSimulation}) over a
 * range of seeds. A small range runs in {@code mvn verify}; more on demand:
 *
 * <pre>mvn -B -q -pl raft-core test -Dtest=NodeMembershipSimulationTest -Dsim.seeds=300 -Dsim.seed=1</pre>
 *
 * Prints {@code SIMULATION seeds=N failures=K ...} and, for each failure, {@code FAILED seed=S}
 * with the command that replays it alone.
 */
class NodeMembershipSimulationTest {

    @Test
    void membershipChangesThroughTheApiStaySafeAndConverge() {
        long first = Long.getLong("sim.seed", 1);
        long count = Long.getLong("sim.seeds", 12);
        List<NodeMembershipSimulation.Result> failures = new ArrayList<>();
        long operations = 0;
        long ok = 0;
        long calls = 0;
        long callsOk = 0;
        long changes = 0;
        long nonVoterVotes = 0;
        long started = System.nanoTime();
        for (long seed = first; seed < first + count; seed++) {
            NodeMembershipSimulation.Result r = new NodeMembershipSimulation(seed).run();
            operations += r.operations();
            ok += r.okOperations();
            calls += r.membershipCalls();
            callsOk += r.membershipOk();
            changes += r.configurationsCommitted();
            nonVoterVotes += r.nonVoterVotes();
            if (!r.passed()) {
                failures.add(r);
                System.out.println("FAILED seed=" + seed + " (" + r.nodes() + " nodes): " + r.failure());
                System.out.println("  replay: mvn -B -q -pl raft-core test -Dtest=NodeMembershipSimulationTest -Dsim.seed="
                        + seed + " -Dsim.seeds=1");
                if (failures.size() <= 3) {
                    System.out.println("  last events:\n" + r.trace().indent(4));
                }
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("SIMULATION seeds=%d failures=%d (first seed %d; %d client calls, %d ok; %d membership calls,"
                + " %d ok; %d configurations committed; %d votes granted by non-voters, never counted; %.1f s)%n",
                count, failures.size(), first, operations, ok, calls, callsOk, changes, nonVoterVotes, seconds);
        assertThat(failures).as("failed seeds (see FAILED lines above)").isEmpty();
    }
}
