package org.raftkit.sim.lin;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Cross-checks {@link LinearizabilityChecker} against {@link BruteForceChecker} on thousands of small seeded random
 * histories. Half of them come from simulated concurrent executions (so they are linearizable by construction),
 * half have random results (often not linearizable).
 */
class CheckerAgreesWithBruteForceTest {

    private static final int SEEDS = 3000;
    private static final String[] VALUES = {null, "a", "b", "c"};

    private final LinearizabilityChecker checker = new LinearizabilityChecker();

    @Test
    void realExecutionsAreAcceptedByBoth() {
        int withUnknown = 0;
        for (long seed = 0; seed < SEEDS; seed++) {
            List<Operation> history = generate(seed, true);
            CheckResult result = checker.check(history);
            assertThat(result.verdict()).as("seed %d, history %s:%n%s", seed, history, result)
                    .isEqualTo(Verdict.LINEARIZABLE);
            assertThat(BruteForceChecker.isLinearizable(history)).as("brute force, seed %d, history %s", seed, history)
                    .isTrue();
            if (history.stream().anyMatch(op -> op.outcome() == Outcome.UNKNOWN)) {
                withUnknown++;
            }
        }
        assertThat(withUnknown).as("histories with UNKNOWN ops").isGreaterThan(SEEDS / 4);
    }

    @Test
    void randomHistoriesGetTheSameVerdictFromBoth() {
        int rejected = 0;
        int rejectedWithUnknown = 0;
        for (long seed = 0; seed < SEEDS; seed++) {
            List<Operation> history = generate(seed, false);
            CheckResult result = checker.check(history);
            boolean expected = BruteForceChecker.isLinearizable(history);
            assertThat(result.verdict()).as("seed %d, history %s:%n%s", seed, history, result)
                    .isEqualTo(expected ? Verdict.LINEARIZABLE : Verdict.NOT_LINEARIZABLE);
            if (!expected) {
                rejected++;
                assertThat(result.explanation()).contains("Key \"" + result.key() + "\" is not linearizable");
                if (history.stream().anyMatch(op -> op.outcome() == Outcome.UNKNOWN && op.kind() != OpKind.READ)) {
                    rejectedWithUnknown++;
                }
            }
        }
        // Not vacuous: a good share of the random histories must be violations, including ones with UNKNOWN ops.
        assertThat(rejected).as("rejected random histories").isBetween(SEEDS / 5, SEEDS * 9 / 10);
        assertThat(rejectedWithUnknown).as("rejected random histories with UNKNOWN writes").isGreaterThan(SEEDS / 20);
    }

    /**
     * Generates a history of 1..7 ops by 2-3 processes on 1 (sometimes 2) keys. Each process issues its ops one after
     * another with random gaps and durations, so intervals of different processes overlap (and sometimes touch).
     *
     * @param real if true, results come from executing the ops atomically at random points inside their intervals
     *             (UNKNOWN ops take effect at some point after their invocation or never; FAILED ops never); if
     *             false, read results and CAS results are random
     */
    static List<Operation> generate(long seed, boolean real) {
        SplittableRandom rnd = new SplittableRandom(seed * 2 + (real ? 1 : 0));
        int processes = 2 + rnd.nextInt(2);
        int count = 1 + rnd.nextInt(7);
        int keys = rnd.nextInt(4) == 0 ? 2 : 1;
        long[] clock = new long[processes];
        List<Operation> ops = new ArrayList<>(count);
        double[] point = new double[count];
        for (int i = 0; i < count; i++) {
            int p = rnd.nextInt(processes);
            long invoke = clock[p] + rnd.nextInt(4);
            long complete = invoke + rnd.nextInt(9);
            clock[p] = complete + rnd.nextInt(3);
            String key = keys == 1 ? "x" : rnd.nextBoolean() ? "x" : "y";
            int roll = rnd.nextInt(100);
            Outcome outcome = roll < 70 ? Outcome.OK : roll < 88 ? Outcome.UNKNOWN : Outcome.FAILED;
            int kind = rnd.nextInt(3);
            String value = VALUES[rnd.nextInt(8) == 0 ? 0 : 1 + rnd.nextInt(3)]; // occasionally delete
            String expected = VALUES[rnd.nextInt(4)];
            String output = VALUES[rnd.nextInt(4)];
            Operation op = switch (kind) {
                case 0 -> Operation.read(p, i, key, output, invoke, complete);
                case 1 -> Operation.write(p, i, key, value, invoke, complete);
                default -> Operation.cas(p, i, key, expected, value, rnd.nextBoolean(), invoke, complete);
            };
            ops.add(op.withOutcome(outcome));
            // Where the op takes effect in the "real" execution; NaN = never.
            point[i] = switch (outcome) {
                case OK -> invoke + rnd.nextDouble() * (complete - invoke);
                case UNKNOWN -> rnd.nextBoolean() ? invoke + rnd.nextDouble() * 20 : Double.NaN;
                case FAILED -> Double.NaN;
            };
        }
        return real ? execute(ops, point) : ops;
    }

    /** Fills in read results and CAS results by executing the ops in order of their linearization points. */
    private static List<Operation> execute(List<Operation> ops, double[] point) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            if (!Double.isNaN(point[i])) {
                order.add(i);
            }
        }
        order.sort(Comparator.comparingDouble(i -> point[i]));
        Map<String, String> store = new HashMap<>();
        List<Operation> result = new ArrayList<>(ops);
        for (int i : order) {
            Operation op = ops.get(i);
            String current = store.get(op.key());
            switch (op.kind()) {
                case READ -> result.set(i, new Operation(op.process(), op.id(), op.kind(), op.key(), null, null,
                        current, false, op.invokeTime(), op.completeTime(), op.outcome()));
                case WRITE -> store.put(op.key(), op.value());
                case CAS -> {
                    boolean succeeded = Objects.equals(current, op.expected());
                    if (succeeded) {
                        store.put(op.key(), op.value());
                    }
                    result.set(i, new Operation(op.process(), op.id(), op.kind(), op.key(), op.value(),
                            op.expected(), null, succeeded, op.invokeTime(), op.completeTime(), op.outcome()));
                }
            }
        }
        return result;
    }
}
