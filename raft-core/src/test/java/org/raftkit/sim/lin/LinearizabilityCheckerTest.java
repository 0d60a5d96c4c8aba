package org.raftkit.sim.lin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LinearizabilityCheckerTest {

    private final LinearizabilityChecker checker = new LinearizabilityChecker();

    private CheckResult check(Operation... ops) {
        CheckResult result = checker.check(List.of(ops));
        // Every hand-written case is small enough to cross-check against the brute-force checker.
        if (ops.length <= BruteForceChecker.MAX_OPS && result.verdict() != Verdict.UNDECIDED) {
            assertThat(BruteForceChecker.isLinearizable(List.of(ops)))
                    .as("brute force agrees on %s", List.of(ops))
                    .isEqualTo(result.isLinearizable());
        }
        return result;
    }

    @Test
    void emptyHistoryIsLinearizable() {
        assertThat(checker.check(List.of())).isEqualTo(CheckResult.ok());
    }

    @Test
    void readOfAbsentKeyReturnsNull() {
        assertThat(check(Operation.read(0, 1, "x", null, 0, 5)).verdict()).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void staleReadAfterCompletedWriteIsRejected() {
        Operation w1 = Operation.write(0, 1, "x", "a", 0, 10);
        Operation w2 = Operation.write(0, 2, "x", "b", 20, 30);
        Operation staleRead = Operation.read(1, 3, "x", "a", 40, 50);

        CheckResult result = check(w1, w2, staleRead);

        assertThat(result.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
        assertThat(result.isLinearizable()).isFalse();
        assertThat(result.key()).isEqualTo("x");
        assertThat(result.explanation())
                .contains("Key \"x\" is not linearizable")
                .contains(staleRead.describe())
                .contains("impossible: it read \"a\" but the register holds \"b\"");
    }

    @Test
    void concurrentWriteAndReadMaySeeEitherValue() {
        Operation w1 = Operation.write(0, 1, "x", "a", 0, 10);
        Operation w2 = Operation.write(0, 2, "x", "b", 20, 40);
        assertThat(check(w1, w2, Operation.read(1, 3, "x", "a", 25, 30)).isLinearizable()).isTrue();
        assertThat(check(w1, w2, Operation.read(1, 3, "x", "b", 25, 30)).isLinearizable()).isTrue();
        // Once the read has seen the new value, a later read must not see the old one.
        assertThat(check(w1, w2, Operation.read(1, 3, "x", "b", 25, 30), Operation.read(2, 4, "x", "a", 31, 35))
                .isViolation()).isTrue();
    }

    @Test
    void touchingIntervalsAreConcurrentButDisjointOnesAreOrdered() {
        Operation w1 = Operation.write(0, 1, "x", "a", 0, 10);
        Operation w2 = Operation.write(0, 2, "x", "b", 11, 20);
        // completeTime == invokeTime: concurrent, the read may still see "a".
        assertThat(check(w1, w2, Operation.read(1, 3, "x", "a", 20, 25)).isLinearizable()).isTrue();
        // completeTime < invokeTime: ordered, "a" is stale.
        assertThat(check(w1, w2, Operation.read(1, 3, "x", "a", 21, 25)).isViolation()).isTrue();
    }

    @Test
    void readOfValueNeverWrittenIsRejected() {
        CheckResult result = check(Operation.write(0, 1, "x", "a", 0, 10), Operation.read(1, 2, "x", "zzz", 5, 15));
        assertThat(result.isViolation()).isTrue();
        assertThat(result.explanation()).contains("\"zzz\"");

        assertThat(check(Operation.read(1, 2, "x", "zzz", 5, 15)).isViolation()).isTrue();
    }

    @Test
    void casSuccessAndFailureSemantics() {
        Operation w = Operation.write(0, 1, "x", "a", 0, 10);
        // Succeeds iff the current value is the expected one, and then installs the new value.
        assertThat(check(w, Operation.cas(1, 2, "x", "a", "b", true, 20, 30), Operation.read(2, 3, "x", "b", 40, 50))
                .isLinearizable()).isTrue();
        assertThat(check(w, Operation.cas(1, 2, "x", "a", "b", true, 20, 30), Operation.read(2, 3, "x", "a", 40, 50))
                .isViolation()).isTrue();
        assertThat(check(w, Operation.cas(1, 2, "x", "z", "b", true, 20, 30)).isViolation()).isTrue();
        // A failed CAS leaves the value alone, and may only fail if the value differs from the expected one.
        assertThat(check(w, Operation.cas(1, 2, "x", "z", "b", false, 20, 30), Operation.read(2, 3, "x", "a", 40, 50))
                .isLinearizable()).isTrue();
        assertThat(check(w, Operation.cas(1, 2, "x", "z", "b", false, 20, 30), Operation.read(2, 3, "x", "b", 40, 50))
                .isViolation()).isTrue();
        CheckResult wrongFailure = check(w, Operation.cas(1, 2, "x", "a", "b", false, 20, 30));
        assertThat(wrongFailure.isViolation()).isTrue();
        assertThat(wrongFailure.explanation()).contains("it failed, but the register holds its expected value");
        // null expected means "absent".
        assertThat(check(Operation.cas(0, 1, "x", null, "a", true, 0, 10), Operation.read(1, 2, "x", "a", 20, 30))
                .isLinearizable()).isTrue();
        assertThat(check(w, Operation.cas(1, 2, "x", null, "b", true, 20, 30)).isViolation()).isTrue();
        // Two concurrent CAS ops from the same value: only one may win.
        Operation c1 = Operation.cas(1, 2, "x", "a", "b", true, 20, 30);
        Operation c2 = Operation.cas(2, 3, "x", "a", "c", true, 20, 30);
        assertThat(check(w, c1, c2).isViolation()).isTrue();
        assertThat(check(w, c1, Operation.cas(2, 3, "x", "a", "c", false, 20, 30)).isLinearizable()).isTrue();
    }

    @Test
    void unknownWriteObservedByLaterReadIsAccepted() {
        CheckResult result = check(
                Operation.write(0, 1, "x", "a", 0, 10),
                Operation.unknownWrite(1, 2, "x", "b", 20),
                Operation.read(2, 3, "x", "a", 30, 40),
                Operation.read(2, 4, "x", "b", 100, 110));
        assertThat(result.verdict()).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void unknownWriteNeverObservedIsAccepted() {
        CheckResult result = check(
                Operation.write(0, 1, "x", "a", 0, 10),
                Operation.unknownWrite(1, 2, "x", "b", 20),
                Operation.read(2, 3, "x", "a", 100, 110),
                Operation.read(2, 4, "x", "a", 200, 210));
        assertThat(result.verdict()).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void unknownWriteCannotTakeEffectBeforeItsInvocation() {
        assertThat(check(
                Operation.write(0, 1, "x", "a", 0, 10),
                Operation.read(2, 2, "x", "b", 20, 30),
                Operation.unknownWrite(1, 3, "x", "b", 40)).isViolation()).isTrue();
    }

    @Test
    void unknownWriteObservedThenUnobservedIsRejected() {
        CheckResult result = check(
                Operation.write(0, 1, "x", "a", 0, 10),
                Operation.unknownWrite(1, 2, "x", "b", 20),
                Operation.read(2, 3, "x", "b", 100, 110),
                Operation.read(2, 4, "x", "a", 120, 130));
        assertThat(result.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
        assertThat(result.explanation()).contains("p2#4 READ x -> \"a\" OK [120,130]");
    }

    @Test
    void unknownCasMayTakeEffectOrNot() {
        Operation w = Operation.write(0, 1, "x", "a", 0, 10);
        Operation cas = Operation.unknownCas(1, 2, "x", "a", "b", 20);
        assertThat(check(w, cas, Operation.read(2, 3, "x", "b", 30, 40)).isLinearizable()).isTrue();
        assertThat(check(w, cas, Operation.read(2, 3, "x", "a", 30, 40)).isLinearizable()).isTrue();
        // It cannot succeed when the expected value is never there.
        Operation badCas = Operation.unknownCas(1, 2, "x", "z", "b", 20);
        assertThat(check(w, badCas, Operation.read(2, 3, "x", "b", 30, 40)).isViolation()).isTrue();
    }

    @Test
    void completeTimeOfUnknownOpsIsIgnored() {
        Operation unknownWithTimeout = new Operation(1, 2, OpKind.WRITE, "x", "b", null, null, false, 20, 25,
                Outcome.UNKNOWN);
        // Observed long after the client gave up on it.
        assertThat(check(Operation.write(0, 1, "x", "a", 0, 10), unknownWithTimeout,
                Operation.read(2, 3, "x", "a", 30, 40), Operation.read(2, 4, "x", "b", 50, 60)).isLinearizable())
                .isTrue();
    }

    @Test
    void failedOpsAndUnknownReadsAreIgnored() {
        Operation w = Operation.write(0, 1, "x", "a", 0, 10);
        Operation failedWrite = Operation.write(1, 2, "x", "b", 20, 30).withOutcome(Outcome.FAILED);
        Operation failedRead = Operation.read(2, 3, "x", "nonsense", 20, 30).withOutcome(Outcome.FAILED);
        Operation failedCas = Operation.cas(2, 4, "x", "a", "c", true, 20, 30).withOutcome(Outcome.FAILED);
        Operation unknownRead = Operation.read(2, 5, "x", "nonsense", 20, 30).withOutcome(Outcome.UNKNOWN);
        assertThat(check(w, failedWrite, failedRead, failedCas, unknownRead, Operation.read(3, 6, "x", "a", 40, 50))
                .isLinearizable()).isTrue();
        // A failed write must not be observed.
        CheckResult observed = check(w, failedWrite, Operation.read(3, 6, "x", "b", 40, 50));
        assertThat(observed.isViolation()).isTrue();
        assertThat(observed.explanation()).contains("ignored 1 failed op(s)").contains(failedWrite.describe());
    }

    @Test
    void multipleKeysAreIndependent() {
        List<Operation> ok = List.of(
                Operation.write(0, 1, "x", "a", 0, 10),
                Operation.write(1, 2, "y", "b", 0, 10),
                Operation.read(2, 3, "y", "b", 20, 30),
                Operation.read(2, 4, "x", "a", 20, 30),
                Operation.read(3, 5, "z", null, 20, 30));
        assertThat(checker.check(ok).isLinearizable()).isTrue();
        assertThat(BruteForceChecker.isLinearizable(ok)).isTrue();

        List<Operation> bad = new ArrayList<>(ok);
        bad.add(Operation.write(0, 6, "y", "c", 40, 50));
        bad.add(Operation.read(1, 7, "y", "b", 60, 70));
        bad.add(Operation.read(1, 8, "x", "a", 60, 70));
        CheckResult result = checker.check(bad);
        assertThat(result.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
        assertThat(result.key()).isEqualTo("y");
        assertThat(result.explanation()).contains("Key \"y\"").doesNotContain(" x := ");
        assertThat(BruteForceChecker.isLinearizable(bad)).isFalse();
    }

    @Test
    void exhaustedBudgetIsUndecidedNotLinearizable() {
        // Ten concurrent writes of distinct values followed by reads forcing a particular order: needs search.
        List<Operation> history = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            history.add(Operation.write(i, i, "x", "v" + i, 0, 100));
        }
        history.add(Operation.read(10, 100, "x", "nope", 200, 210));
        CheckResult result = new LinearizabilityChecker(50).check(history);
        assertThat(result.verdict()).isEqualTo(Verdict.UNDECIDED);
        assertThat(result.isLinearizable()).isFalse();
        assertThat(result.isViolation()).isFalse();
        assertThat(result.key()).isEqualTo("x");
        assertThat(result.explanation()).contains("budget of 50 steps");
        // With the default budget the memo makes it easy.
        assertThat(checker.check(history).verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
        assertThat(checker.check(history, 50).verdict()).isEqualTo(Verdict.UNDECIDED);
    }

    @Test
    void violationWinsOverUndecided() {
        List<Operation> history = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            history.add(Operation.write(i, i, "a-key", "v" + i, 0, 100));
        }
        history.add(Operation.read(10, 100, "a-key", "nope", 200, 210));
        history.add(Operation.write(0, 200, "b-key", "v", 0, 10));
        history.add(Operation.read(0, 201, "b-key", null, 20, 30));
        CheckResult result = checker.check(history, 20);
        assertThat(result.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
        assertThat(result.key()).isEqualTo("b-key");
    }

    @Test
    void invalidOperationsAreRejected() {
        assertThatThrownBy(() -> Operation.read(0, 1, "x", null, 10, 9)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new LinearizabilityChecker(0)).isInstanceOf(IllegalArgumentException.class);
        // Timing of non-OK ops is not validated.
        assertThat(new Operation(0, 1, OpKind.READ, "x", null, null, null, false, 10, 9, Outcome.FAILED).outcome())
                .isEqualTo(Outcome.FAILED);
    }

    @Test
    void describesOperationsReadably() {
        assertThat(Operation.read(1, 7, "k", null, 3, 9).describe()).isEqualTo("p1#7 READ k -> <absent> OK [3,9]");
        assertThat(Operation.cas(2, 8, "k", "a", "b", true, 3, 9).describe())
                .isEqualTo("p2#8 CAS k \"a\"->\"b\" succeeded OK [3,9]");
        assertThat(Operation.unknownWrite(0, 9, "k", "c", 4).describe()).isEqualTo("p0#9 WRITE k := \"c\" UNKNOWN [4,?]");
    }

    /**
     * A real sequential execution of 3000 ops over 10 keys: each op takes effect at time 10*i; its recorded
     * interval is widened at random around that point, so up to ~10 ops overlap. Some ops are reported UNKNOWN
     * (some of which took effect) and some FAILED.
     */
    @Test
    void largeRealisticHistoryIsAccepted() {
        List<Operation> history = sequentialRun(42, 3000, 10);
        CheckResult result = checker.check(history);
        assertThat(result.verdict()).as("%s", result).isEqualTo(Verdict.LINEARIZABLE);
    }

    @Test
    void largeHistoryWithOneCorruptedReadIsRejected() {
        List<Operation> history = sequentialRun(7, 3000, 10);
        int victim = -1;
        for (int i = 1500; i < history.size(); i++) {
            Operation op = history.get(i);
            if (op.kind() == OpKind.READ && op.isOk() && op.output() != null) {
                victim = i;
                break;
            }
        }
        Operation read = history.get(victim);
        Operation corrupted = Operation.read(read.process(), read.id(), read.key(), "corrupt", read.invokeTime(),
                read.completeTime());
        history.set(victim, corrupted);
        CheckResult result = checker.check(history);
        assertThat(result.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
        assertThat(result.key()).isEqualTo(read.key());
        assertThat(result.explanation()).contains(corrupted.describe());
    }

    /**
     * Many timed-out writes whose effects were never observed, plus one stale read at the very end: the checker must
     * still prove the violation within the default budget rather than give up.
     */
    @Test
    void violationAmongManyUnknownWritesIsDecided() {
        List<Operation> history = new ArrayList<>();
        long t = 0;
        int id = 0;
        for (int i = 0; i < 60; i++) {
            history.add(Operation.write(i % 5, id++, "x", "w" + i, t, t + 15));
            history.add(Operation.unknownWrite(5 + i % 5, id++, "x", "u" + i, t + 2));
            history.add(Operation.read(i % 5, id++, "x", "w" + i, t + 20, t + 30));
            t += 40;
        }
        assertThat(checker.check(history).verdict()).isEqualTo(Verdict.LINEARIZABLE);
        history.add(Operation.read(0, id, "x", "w3", t + 100, t + 110));
        CheckResult result = checker.check(history);
        assertThat(result.verdict()).as("%s", result).isEqualTo(Verdict.NOT_LINEARIZABLE);
    }

    /** Same as above, everything on one key (about 10 ops in flight at any time). */
    @Test
    void largeSingleKeyHistoryIsAccepted() {
        List<Operation> history = sequentialRun(99, 3000, 1);
        CheckResult result = checker.check(history);
        assertThat(result.verdict()).as("%s", result).isEqualTo(Verdict.LINEARIZABLE);
    }

    /**
     * Rounds of a write followed by a burst of concurrent reads, some seeing the old value and some the new one,
     * then one stale read at the very end. Proving the violation needs an exhaustive search; reads of the current
     * value are linearized without branching, so it stays small instead of enumerating subsets of the reads.
     */
    @Test
    void concurrentReadsDoNotBlowUpTheSearch() {
        List<Operation> history = new ArrayList<>();
        int id = 0;
        for (int round = 0; round < 50; round++) {
            long t = 100L * round;
            String old = round == 0 ? null : "v" + (round - 1);
            String fresh = "v" + round;
            history.add(Operation.write(0, id++, "x", fresh, t + 20, t + 80));
            for (int i = 0; i < 8; i++) {
                history.add(Operation.read(1 + i, id++, "x", old, t + 10 + i, t + 50 + i));
                history.add(Operation.read(9 + i, id++, "x", fresh, t + 30 + i, t + 90 + i));
            }
        }
        LinearizabilityChecker small = new LinearizabilityChecker(100_000);
        assertThat(small.check(history).verdict()).isEqualTo(Verdict.LINEARIZABLE);
        history.add(Operation.read(0, id, "x", "v10", 10_000, 10_010));
        CheckResult result = small.check(history);
        assertThat(result.verdict()).as("%s", result).isEqualTo(Verdict.NOT_LINEARIZABLE);
        assertThat(result.explanation()).contains("p0#" + id + " READ x -> \"v10\" OK [10000,10010]");
    }

    static List<Operation> sequentialRun(long seed, int count, int keys) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, String> store = new HashMap<>();
        List<Operation> history = new ArrayList<>(count);
        String[] values = {"a", "b", "c", "d", "e"};
        for (int i = 0; i < count; i++) {
            String key = "k" + rnd.nextInt(keys);
            long point = 10L * i;
            long invoke = point - rnd.nextInt(50);
            long complete = point + rnd.nextInt(50);
            int process = i % 10;
            // 3%: never executed (reported FAILED or UNKNOWN); 5%: executed but the reply was lost (UNKNOWN).
            int fate = rnd.nextInt(100);
            boolean executed = fate >= 3;
            Outcome outcome = fate < 3 ? (rnd.nextBoolean() ? Outcome.FAILED : Outcome.UNKNOWN)
                    : fate < 8 ? Outcome.UNKNOWN : Outcome.OK;
            String current = store.get(key);
            int roll = rnd.nextInt(100);
            Operation op;
            if (roll < 45) {
                op = Operation.read(process, i, key, current, invoke, complete);
            } else if (roll < 75) {
                String v = values[rnd.nextInt(values.length)];
                if (executed) {
                    store.put(key, v);
                }
                op = Operation.write(process, i, key, v, invoke, complete);
            } else {
                String expected = rnd.nextBoolean() ? current : values[rnd.nextInt(values.length)];
                String v = values[rnd.nextInt(values.length)];
                boolean succeeded = Objects.equals(expected, current);
                if (succeeded && executed) {
                    store.put(key, v);
                }
                op = Operation.cas(process, i, key, expected, v, succeeded, invoke, complete);
            }
            history.add(op.withOutcome(outcome));
        }
        return history;
    }
}
