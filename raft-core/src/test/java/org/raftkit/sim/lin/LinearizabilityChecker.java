package org.raftkit.sim.lin;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Checks that a history of read / write / compare-and-set operations on a key-value store is linearizable, with
 * every key an independent register that starts absent ({@code null}).
 *
 * <h2>Model</h2>
 * <ul>
 *   <li>The history is split by key and each key is checked on its own. Registers on different keys are independent
 *       objects, so this is exact (linearizability is compositional / P-compositionality).</li>
 *   <li>{@link Outcome#FAILED} operations are dropped: they definitely had no effect. {@link Outcome#UNKNOWN} reads
 *       are dropped too: a read has no effect and its result was never seen.</li>
 *   <li>An {@link Outcome#UNKNOWN} write or CAS completes at +infinity (its {@code completeTime} is ignored) and it
 *       may also be left out entirely. The history is linearizable iff there is a linearization of all OK ops plus
 *       any subset of the UNKNOWN ops.</li>
 *   <li>Real-time order: op A <em>precedes</em> op B iff A is OK and {@code A.completeTime < B.invokeTime}
 *       (strict). When {@code A.completeTime == B.invokeTime} the two ops are concurrent and may be linearized in
 *       either order. (Equivalently, in the event list a call sorts before a return at the same time.)</li>
 * </ul>
 *
 * <h2>Algorithm</h2>
 * Wing &amp; Gong's depth-first search with Lowe's improvements (G. Lowe, "Testing for linearizability", 2017):
 * the not-yet-linearized ops are kept in dancing-links lists (calls sorted by invoke time, returns of OK ops sorted
 * by complete time). An op may be linearized next iff its invocation is not after the earliest completion among
 * the not-yet-linearized OK ops, i.e. no pending op precedes it. Each configuration (set of linearized ops as bit
 * sets, register value) is memoized and never explored twice; the search backtracks when the earliest-completing
 * pending OK op can no longer be linearized, and succeeds as soon as every OK op is linearized.
 *
 * <p>The search only looks for linearizations of a canonical form, which exists whenever any linearization does.
 * This cuts the search space without changing the answer (the randomized tests cross-check it against brute force):
 * <ul>
 *   <li>If a pending OK op that may go next leaves the register unchanged in the current state (a read of the
 *       current value, a CAS that failed because the value differs from the expected one), it is linearized right
 *       away with no alternatives: it commutes with everything before its position in any linearization. This stops
 *       the search from enumerating interleavings of concurrent reads.</li>
 *   <li>OK ops are tried before UNKNOWN ones. An UNKNOWN op is only linearized where it changes the register and
 *       where the op right after it observes the register (a read or a CAS, not a blind write); otherwise dropping
 *       it changes nothing. Among pending UNKNOWN ops with the same effect only the earliest-invoked one is tried,
 *       since it can stand in for any of the others.</li>
 *   <li>A configuration is also pruned when a fully explored one had the same OK ops linearized, the same register
 *       value and a subset of its UNKNOWN ops linearized (and was no more constrained): that one offered every
 *       option the new one has. Without this, each combination of never-observed timed-out writes would be
 *       explored separately.</li>
 * </ul>
 *
 * <p>Each key gets a budget of search steps (attempts to linearize an op, memo probes and backtracks); if it runs
 * out the result is {@link Verdict#UNDECIDED}. A few thousand ops over a handful of keys with ~10 concurrent
 * clients typically take milliseconds. Hard cases are many (~30) concurrent ops on a single key.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class LinearizabilityChecker {

    /** Default budget of search steps per key. */
    public static final long DEFAULT_MAX_STEPS_PER_KEY = 5_000_000L;

    private static final int MAX_PREFIX_LINES = 25;
    private static final int MAX_HISTORY_LINES = 40;
    private static final int MAX_UNKNOWN_CANDIDATE_LINES = 10;

    private final long maxStepsPerKey;

    /** Creates a checker with {@link #DEFAULT_MAX_STEPS_PER_KEY}. */
    public LinearizabilityChecker() {
        this(DEFAULT_MAX_STEPS_PER_KEY);
    }

    /**
     * @param maxStepsPerKey the search budget per key (positive)
     */
    public LinearizabilityChecker(long maxStepsPerKey) {
        this.maxStepsPerKey = requirePositive(maxStepsPerKey);
    }

    /** @return the search budget per key used by {@link #check(List)} */
    public long maxStepsPerKey() {
        return maxStepsPerKey;
    }

    /**
     * Checks the history per key with this checker's step budget.
     *
     * @param history every recorded operation, on any keys, in any order
     * @return {@link Verdict#NOT_LINEARIZABLE} for the first key (in key order) found to have no linearization;
     *         otherwise {@link Verdict#UNDECIDED} if the budget ran out for some key; otherwise linearizable
     */
    public CheckResult check(List<Operation> history) {
        return check(history, maxStepsPerKey);
    }

    /**
     * Checks the history per key with the given step budget.
     *
     * @param history        every recorded operation, on any keys, in any order
     * @param maxStepsPerKey the search budget per key (positive); when a key exceeds it the key is undecided
     * @return {@link Verdict#NOT_LINEARIZABLE} for the first key (in key order) found to have no linearization;
     *         otherwise {@link Verdict#UNDECIDED} if the budget ran out for some key; otherwise linearizable
     */
    public CheckResult check(List<Operation> history, long maxStepsPerKey) {
        Objects.requireNonNull(history, "history");
        requirePositive(maxStepsPerKey);
        Map<String, List<Operation>> byKey = new TreeMap<>();
        for (Operation op : history) {
            Objects.requireNonNull(op, "history contains null");
            byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
        }
        CheckResult undecided = null;
        for (Map.Entry<String, List<Operation>> e : byKey.entrySet()) {
            KeySearch search = new KeySearch(e.getKey(), e.getValue(), maxStepsPerKey);
            Verdict verdict = search.run();
            if (verdict == Verdict.NOT_LINEARIZABLE) {
                return CheckResult.notLinearizable(e.getKey(), search.explain(verdict));
            }
            if (verdict == Verdict.UNDECIDED && undecided == null) {
                undecided = CheckResult.undecided(e.getKey(), search.explain(verdict));
            }
        }
        return undecided != null ? undecided : CheckResult.ok();
    }

    private static long requirePositive(long steps) {
        if (steps <= 0) {
            throw new IllegalArgumentException("step budget must be positive: " + steps);
        }
        return steps;
    }

    /** splitmix64 finalizer. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The search for one key. Ops are indexed 0..nOk-1 (OK, by invoke time) then nOk..n-1 (UNKNOWN). */
    private static final class KeySearch {
        private static final int REJECT = -1;
        private static final int NONE = -1;

        private static final byte C_READ = 0;
        private static final byte C_WRITE = 1;
        private static final byte C_CAS_SUCCEEDED = 2;
        private static final byte C_CAS_FAILED = 3;
        private static final byte C_WRITE_UNKNOWN = 4;
        private static final byte C_CAS_UNKNOWN = 5;

        private final String key;
        private final List<Operation> allOps;
        private final Operation[] ops;
        private final int n;
        private final int nOk;
        private final byte[] code;
        /** READ: value read; WRITE / CAS: value written. */
        private final int[] arg;
        /** CAS: expected value. */
        private final int[] expect;
        private final long[] invoke;
        private final long[] complete;
        /** UNKNOWN ops: the previous (by invoke time) UNKNOWN op with the same effect, or NONE. */
        private final int[] prevSame;
        private final List<String> values = new ArrayList<>();

        /** Call lists (dancing links): OK ops with sentinel n, UNKNOWN ops with sentinel n + 1. */
        private final int[] next;
        private final int[] prev;
        private final int okHead;
        private final int unkHead;
        /** Return list of OK ops sorted by complete time, sentinel nOk. */
        private final int[] rnext;
        private final int[] rprev;
        private final int retHead;

        /** Pending UNKNOWN CAS ops by expected value. */
        private final int[] unknownCasByExpected;
        /** Scratch for {@link #observable(int)}, valid while observersVersion == version. */
        private final int[] observerMark;
        private int observersStamp;
        private long observersVersion = -1;
        private boolean anyObserver;
        /** Incremented whenever the configuration changes. */
        private long version;

        private final long[] okBits;
        private final long[] unkBits;
        private final long[] zobrist;
        private long okHash;
        private int state;
        private int okRemaining;

        private final int[] stackOp;
        private final int[] stackState;
        private final int[] stackEntry;
        /** Whether the op was the only child tried (see {@link #forcedCandidate()}). */
        private final boolean[] stackForced;
        private int depth;

        private final long budget;
        private long steps;
        private final Memo memo;

        // Diagnostics: the configuration with the most OK ops linearized and where it got stuck.
        private final int[] bestOps;
        private int bestLen;
        private int bestOk;
        private int bestAgree;
        private boolean stuckRecorded;
        private int stuckState;
        private int stuckDeadline = NONE;
        private int[] stuckCandidates;

        KeySearch(String key, List<Operation> keyOps, long budget) {
            this.key = key;
            this.allOps = keyOps;
            this.budget = budget;
            List<Operation> ok = new ArrayList<>();
            List<Operation> unknown = new ArrayList<>();
            for (Operation op : keyOps) {
                if (op.outcome() == Outcome.OK) {
                    ok.add(op);
                } else if (op.outcome() == Outcome.UNKNOWN && op.kind() != OpKind.READ) {
                    unknown.add(op);
                }
            }
            Comparator<Operation> byInvoke = Comparator.comparingLong(Operation::invokeTime)
                    .thenComparingLong(Operation::completeTime);
            ok.sort(byInvoke);
            unknown.sort(byInvoke);
            nOk = ok.size();
            n = nOk + unknown.size();
            ops = new Operation[n];
            code = new byte[n];
            arg = new int[n];
            expect = new int[n];
            invoke = new long[n];
            complete = new long[n];
            prevSame = new int[n];
            Map<Long, Integer> lastWithEffect = new HashMap<>();
            Map<String, Integer> ids = new HashMap<>();
            values.add(null);
            for (int i = 0; i < n; i++) {
                Operation op = i < nOk ? ok.get(i) : unknown.get(i - nOk);
                boolean isOk = i < nOk;
                ops[i] = op;
                invoke[i] = op.invokeTime();
                complete[i] = isOk ? op.completeTime() : Operation.NEVER;
                switch (op.kind()) {
                    case READ -> {
                        code[i] = C_READ;
                        arg[i] = id(ids, op.output());
                    }
                    case WRITE -> {
                        code[i] = isOk ? C_WRITE : C_WRITE_UNKNOWN;
                        arg[i] = id(ids, op.value());
                    }
                    case CAS -> {
                        code[i] = !isOk ? C_CAS_UNKNOWN : op.casSucceeded() ? C_CAS_SUCCEEDED : C_CAS_FAILED;
                        arg[i] = id(ids, op.value());
                        expect[i] = id(ids, op.expected());
                    }
                }
                prevSame[i] = NONE;
                if (!isOk) {
                    long effect = ((long) code[i] << 60) | ((long) arg[i] << 30) | expect[i];
                    Integer previous = lastWithEffect.put(effect, i);
                    prevSame[i] = previous == null ? NONE : previous;
                }
            }

            unknownCasByExpected = new int[values.size()];
            observerMark = new int[values.size()];
            for (int i = nOk; i < n; i++) {
                if (code[i] == C_CAS_UNKNOWN) {
                    unknownCasByExpected[expect[i]]++;
                }
            }

            okHead = n;
            unkHead = n + 1;
            next = new int[n + 2];
            prev = new int[n + 2];
            link(next, prev, okHead, 0, nOk);
            link(next, prev, unkHead, nOk, n);

            Integer[] byComplete = new Integer[nOk];
            for (int i = 0; i < nOk; i++) {
                byComplete[i] = i;
            }
            Arrays.sort(byComplete, (a, b) -> {
                int c = Long.compare(complete[a], complete[b]);
                return c != 0 ? c : Integer.compare(a, b);
            });
            retHead = nOk;
            rnext = new int[nOk + 1];
            rprev = new int[nOk + 1];
            int last = retHead;
            for (int i = 0; i < nOk; i++) {
                int op = byComplete[i];
                rnext[last] = op;
                rprev[op] = last;
                last = op;
            }
            rnext[last] = retHead;
            rprev[retHead] = last;

            okBits = new long[(nOk + 63) >>> 6];
            unkBits = new long[(n - nOk + 63) >>> 6];
            zobrist = new long[nOk];
            for (int i = 0; i < nOk; i++) {
                zobrist[i] = mix(0x9E3779B97F4A7C15L * (i + 1));
            }
            okRemaining = nOk;
            stackOp = new int[n];
            stackState = new int[n];
            stackEntry = new int[n];
            stackForced = new boolean[n];
            bestOps = new int[n];
            memo = new Memo(unkBits.length);
        }

        private int id(Map<String, Integer> ids, String value) {
            if (value == null) {
                return 0;
            }
            Integer id = ids.get(value);
            if (id == null) {
                id = values.size();
                values.add(value);
                ids.put(value, id);
            }
            return id;
        }

        /** Links elements from..to-1 (in index order) into a circular list with the given sentinel. */
        private static void link(int[] next, int[] prev, int head, int from, int to) {
            int last = head;
            for (int i = from; i < to; i++) {
                next[last] = i;
                prev[i] = last;
                last = i;
            }
            next[last] = head;
            prev[head] = last;
        }

        /** @return the new register value after linearizing op i in state s, or REJECT */
        private int apply(int i, int s) {
            return switch (code[i]) {
                case C_READ -> s == arg[i] ? s : REJECT;
                case C_WRITE -> arg[i];
                case C_CAS_SUCCEEDED -> s == expect[i] ? arg[i] : REJECT;
                case C_CAS_FAILED -> s != expect[i] ? s : REJECT;
                // An UNKNOWN op that leaves the register unchanged is never worth linearizing.
                case C_WRITE_UNKNOWN -> s != arg[i] ? arg[i] : REJECT;
                case C_CAS_UNKNOWN -> s == expect[i] && s != arg[i] ? arg[i] : REJECT;
                default -> throw new IllegalStateException();
            };
        }

        private boolean isLinearized(int i) {
            if (i < nOk) {
                return (okBits[i >>> 6] & (1L << i)) != 0;
            }
            int u = i - nOk;
            return (unkBits[u >>> 6] & (1L << u)) != 0;
        }

        /** @return whether the last op linearized is an UNKNOWN one */
        private boolean afterUnknown() {
            return depth > 0 && stackOp[depth - 1] >= nOk;
        }

        /**
         * The canonical-form rules: right after an UNKNOWN op no blind write; an UNKNOWN op only after every
         * earlier-invoked UNKNOWN op with the same effect.
         */
        private boolean allowed(int i) {
            if ((code[i] == C_WRITE || code[i] == C_WRITE_UNKNOWN) && afterUnknown()) {
                return false;
            }
            return i < nOk || prevSame[i] == NONE || isLinearized(prevSame[i]);
        }

        /**
         * A pending OK op that may go next and would leave the register unchanged (a read of the current value, a
         * CAS that failed because the value differs from the expected one), or NONE. If there is one, it is the only
         * op tried next: when any linearization exists, one exists that linearizes that op right now (it commutes
         * with everything up to its position and nothing pending precedes it). This prevents the search from
         * exploring every interleaving of concurrent reads.
         */
        private int forcedCandidate() {
            long limit = deadline();
            for (int j = next[okHead]; j != okHead && invoke[j] <= limit; j = next[j]) {
                if ((code[j] == C_READ && arg[j] == state) || (code[j] == C_CAS_FAILED && expect[j] != state)
                        || (code[j] == C_CAS_SUCCEEDED && expect[j] == state && arg[j] == state)) {
                    return j;
                }
            }
            return NONE;
        }

        /**
         * Whether some op that may go next could observe the register holding {@code v} (which differs from the
         * current value). An UNKNOWN op must be followed by such an op, otherwise it is pointless. Only called when
         * no op is forced, so no pending read/failed CAS is valid in the current state.
         */
        private boolean observable(int v) {
            if (unknownCasByExpected[v] > 0) {
                return true;
            }
            if (observersVersion != version) {
                observersVersion = version;
                observersStamp++;
                anyObserver = false;
                long limit = deadline();
                for (int j = next[okHead]; j != okHead && invoke[j] <= limit; j = next[j]) {
                    switch (code[j]) {
                        case C_READ -> observerMark[arg[j]] = observersStamp;
                        case C_CAS_SUCCEEDED -> observerMark[expect[j]] = observersStamp;
                        case C_CAS_FAILED -> anyObserver = true;
                        default -> {
                        }
                    }
                }
            }
            return anyObserver || observerMark[v] == observersStamp;
        }

        /** Earliest completion time among the OK ops not yet linearized. */
        private long deadline() {
            int first = rnext[retHead];
            return first == retHead ? Operation.NEVER : complete[first];
        }

        private int firstCandidate() {
            long limit = deadline();
            int j = next[okHead];
            if (j != okHead && invoke[j] <= limit) {
                return j;
            }
            j = next[unkHead];
            return j != unkHead && invoke[j] <= limit ? j : NONE;
        }

        /** The candidate after op i in the enumeration order (OK ops by invoke time, then UNKNOWN ops). */
        private int nextCandidate(int i) {
            long limit = deadline();
            int j = next[i];
            if (i < nOk) {
                if (j != okHead && invoke[j] <= limit) {
                    return j;
                }
                j = next[unkHead];
            }
            return j != unkHead && invoke[j] <= limit ? j : NONE;
        }

        private void lift(int i) {
            next[prev[i]] = next[i];
            prev[next[i]] = prev[i];
            if (code[i] == C_CAS_UNKNOWN) {
                unknownCasByExpected[expect[i]]--;
            }
            if (i < nOk) {
                rnext[rprev[i]] = rnext[i];
                rprev[rnext[i]] = rprev[i];
            }
        }

        private void unlift(int i) {
            next[prev[i]] = i;
            prev[next[i]] = i;
            if (code[i] == C_CAS_UNKNOWN) {
                unknownCasByExpected[expect[i]]++;
            }
            if (i < nOk) {
                rnext[rprev[i]] = i;
                rprev[rnext[i]] = i;
            }
        }

        private void flip(int i) {
            if (i < nOk) {
                okBits[i >>> 6] ^= 1L << i;
                okHash ^= zobrist[i];
            } else {
                int u = i - nOk;
                unkBits[u >>> 6] ^= 1L << u;
            }
        }

        Verdict run() {
            if (nOk == 0) {
                return Verdict.LINEARIZABLE;
            }
            boolean forced = false;
            int cand = forcedCandidate();
            if (cand != NONE) {
                forced = true;
            } else {
                cand = firstCandidate();
            }
            while (true) {
                if (cand != NONE) {
                    if (++steps > budget) {
                        return Verdict.UNDECIDED;
                    }
                    int newState = allowed(cand) ? apply(cand, state) : REJECT;
                    if (newState != REJECT && (cand < nOk || observable(newState))) {
                        flip(cand);
                        int entry = memo.visit(okHash, newState, cand >= nOk, okBits, unkBits);
                        steps += memo.takeProbes();
                        if (entry >= 0) {
                            push(cand, entry, forced);
                            state = newState;
                            lift(cand);
                            if (cand < nOk && --okRemaining == 0) {
                                return Verdict.LINEARIZABLE;
                            }
                            cand = forcedCandidate();
                            forced = cand != NONE;
                            if (!forced) {
                                cand = firstCandidate();
                            }
                            continue;
                        }
                        flip(cand);
                    }
                    cand = forced ? NONE : nextCandidate(cand);
                } else {
                    recordStuck();
                    if (depth == 0) {
                        return Verdict.NOT_LINEARIZABLE;
                    }
                    if (++steps > budget) {
                        return Verdict.UNDECIDED;
                    }
                    forced = stackForced[depth - 1];
                    cand = pop();
                    cand = forced ? NONE : nextCandidate(cand);
                }
            }
        }

        private void push(int op, int entry, boolean forced) {
            int d = depth;
            version++;
            stackOp[d] = op;
            stackForced[d] = forced;
            stackState[d] = state;
            stackEntry[d] = entry;
            if (bestAgree == d && d < bestLen && bestOps[d] == op) {
                bestAgree = d + 1;
            }
            depth = d + 1;
            int okDone = nOk - okRemaining + (op < nOk ? 1 : 0);
            if (op < nOk && okDone > bestOk) {
                System.arraycopy(stackOp, bestAgree, bestOps, bestAgree, depth - bestAgree);
                bestLen = depth;
                bestOk = okDone;
                bestAgree = depth;
                stuckRecorded = false;
            }
        }

        private int pop() {
            int d = --depth;
            version++;
            memo.markCompleted(stackEntry[d]);
            int op = stackOp[d];
            state = stackState[d];
            unlift(op);
            flip(op);
            if (op < nOk) {
                okRemaining++;
            }
            if (bestAgree > d) {
                bestAgree = d;
            }
            return op;
        }

        /** Remembers why the deepest configuration reached so far could not be extended. */
        private void recordStuck() {
            if (stuckRecorded || depth != bestLen || bestAgree != bestLen) {
                return;
            }
            stuckRecorded = true;
            stuckState = state;
            stuckDeadline = rnext[retHead];
            int count = 0;
            for (int c = firstCandidate(); c != NONE; c = nextCandidate(c)) {
                if (allowed(c)) {
                    count++;
                }
            }
            stuckCandidates = new int[count];
            count = 0;
            for (int c = firstCandidate(); c != NONE; c = nextCandidate(c)) {
                if (allowed(c)) {
                    stuckCandidates[count++] = c;
                }
            }
        }

        // ---------------------------------------------------------------------------------------- explanation

        String explain(Verdict verdict) {
            StringBuilder sb = new StringBuilder(1024);
            sb.append("Key \"").append(key).append('"');
            if (verdict == Verdict.NOT_LINEARIZABLE) {
                sb.append(" is not linearizable.\n");
            } else {
                sb.append(": no verdict, the search budget of ").append(budget).append(" steps ran out.\n");
            }
            int ignored = allOps.size() - n;
            sb.append("  Checked ").append(nOk).append(" completed op(s) and ").append(n - nOk)
                    .append(" op(s) with unknown outcome");
            if (ignored > 0) {
                sb.append(" (ignored ").append(ignored).append(" failed op(s) / unknown read(s))");
            }
            sb.append(". A precedes B iff A.completeTime < B.invokeTime; the register starts ")
                    .append(Operation.show(null)).append(".\n");
            appendPrefix(sb);
            if (verdict == Verdict.NOT_LINEARIZABLE) {
                appendStuck(sb);
                appendHistory(sb);
            }
            return sb.toString();
        }

        private String show(int valueId) {
            return Operation.show(values.get(valueId));
        }

        private void appendPrefix(StringBuilder sb) {
            sb.append("  Longest linearizable prefix found: ").append(bestLen).append(" op(s), ")
                    .append(bestOk).append(" of ").append(nOk).append(" completed op(s)");
            if (bestLen == 0) {
                sb.append(" (no op can go first)");
            }
            sb.append(bestLen == 0 ? ".\n" : ":\n");
            int from = Math.max(0, bestLen - MAX_PREFIX_LINES);
            if (from > 0) {
                sb.append("    ... ").append(from).append(" earlier op(s) omitted\n");
            }
            int s = 0;
            for (int i = 0; i < bestLen; i++) {
                s = apply(bestOps[i], s);
                if (i >= from) {
                    sb.append(String.format("    %4d. ", i + 1)).append(ops[bestOps[i]]).append("   => ")
                            .append(show(s)).append('\n');
                }
            }
        }

        private void appendStuck(StringBuilder sb) {
            if (stuckDeadline == NONE || stuckCandidates == null) {
                return;
            }
            sb.append("  Then the register holds ").append(show(stuckState)).append(" and the completed op\n    ")
                    .append(ops[stuckDeadline]).append("\n  must take effect by t=").append(complete[stuckDeadline])
                    .append(", but none of the ops that may go next leads to a linearization:\n");
            int unknownShown = 0;
            int unknownNoEffect = 0;
            int unknownUnobserved = 0;
            int unknownNotShown = 0;
            for (int c : stuckCandidates) {
                if (c >= nOk) {
                    int r = apply(c, stuckState);
                    if (r == REJECT) {
                        unknownNoEffect++;
                        continue;
                    }
                    if (!observableWhenStuck(r)) {
                        unknownUnobserved++;
                        continue;
                    }
                    if (unknownShown == MAX_UNKNOWN_CANDIDATE_LINES) {
                        unknownNotShown++;
                        continue;
                    }
                    unknownShown++;
                }
                sb.append("    ").append(ops[c]).append("  -- ").append(reason(c, stuckState)).append('\n');
            }
            if (unknownNotShown > 0) {
                sb.append("    ... and ").append(unknownNotShown)
                        .append(" more UNKNOWN op(s) that could take effect here, to no avail\n");
            }
            if (unknownUnobserved > 0) {
                sb.append("    (").append(unknownUnobserved).append(" other pending UNKNOWN op(s) could take effect")
                        .append(" here, but no op that may go next would observe the result)\n");
            }
            if (unknownNoEffect > 0) {
                sb.append("    (").append(unknownNoEffect)
                        .append(" other pending UNKNOWN op(s) would not change the register here)\n");
            }
        }

        /** Like {@link #observable(int)}, for the configuration recorded by {@link #recordStuck()}. */
        private boolean observableWhenStuck(int v) {
            for (int c : stuckCandidates) {
                boolean observes = switch (code[c]) {
                    case C_READ -> arg[c] == v;
                    case C_CAS_SUCCEEDED, C_CAS_UNKNOWN -> expect[c] == v;
                    case C_CAS_FAILED -> true;
                    default -> false;
                };
                if (observes) {
                    return true;
                }
            }
            return false;
        }

        private String reason(int c, int s) {
            int r = apply(c, s);
            if (r != REJECT) {
                return "possible (register becomes " + show(r) + "), but no linearization continues from there";
            }
            return switch (code[c]) {
                case C_READ -> "impossible: it read " + show(arg[c]) + " but the register holds " + show(s);
                case C_CAS_SUCCEEDED -> "impossible: it succeeded, so the register must hold " + show(expect[c])
                        + ", but it holds " + show(s);
                case C_CAS_FAILED -> "impossible: it failed, but the register holds its expected value " + show(s);
                default -> "it would not change the register here";
            };
        }

        /** Lists the ops on the key around the point where the search got stuck (or all of them, if few). */
        private void appendHistory(StringBuilder sb) {
            List<Operation> sorted = new ArrayList<>(allOps);
            sorted.sort(Comparator.comparingLong(Operation::invokeTime).thenComparingLong(Operation::id));
            long lo = Long.MIN_VALUE;
            long hi = Long.MAX_VALUE;
            if (sorted.size() > MAX_HISTORY_LINES && stuckDeadline != NONE) {
                hi = complete[stuckDeadline];
                lo = invoke[stuckDeadline];
                for (int c : stuckCandidates) {
                    if (c < nOk) {
                        lo = Math.min(lo, invoke[c]);
                    }
                }
                sb.append("  Ops on key \"").append(key).append("\" overlapping [").append(lo).append(',')
                        .append(hi).append("] (by invoke time; UNKNOWN/FAILED ones only if invoked then):\n");
            } else {
                sb.append("  All ops on key \"").append(key).append("\" (by invoke time):\n");
            }
            int shown = 0;
            int skipped = 0;
            for (Operation op : sorted) {
                long end = op.outcome() == Outcome.OK ? op.completeTime() : op.invokeTime();
                if (op.invokeTime() > hi || end < lo) {
                    continue;
                }
                if (shown == MAX_HISTORY_LINES) {
                    skipped++;
                    continue;
                }
                sb.append("    ").append(op).append('\n');
                shown++;
            }
            if (skipped > 0) {
                sb.append("    ... ").append(skipped).append(" more\n");
            }
        }
    }

    /**
     * Memo of visited configurations: (OK ops linearized, register value, whether the last op was UNKNOWN) with the
     * set of UNKNOWN ops linearized. To stay small for long histories, each bit set is stored trimmed: the number of
     * leading all-ones words, then the words up to the last non-zero one (the OK set is nearly always "everything
     * before some point plus a few concurrent ops"). Entries live in flat arrays; buckets are chained through ints.
     */
    private static final class Memo {
        private final int unkWords;
        /** Trimmed words of every entry: OK words then UNKNOWN words. */
        private long[] pool = new long[1024];
        private int poolSize;
        private int[] offset;
        /** Per entry: leading all-ones words and stored words, of the OK set and of the UNKNOWN set. */
        private int[] okFull;
        private int[] okLen;
        private int[] unkFull;
        private int[] unkLen;
        private long[] hashes;
        /** Register value * 2, plus 1 if the configuration's last op is UNKNOWN (the next op is then restricted). */
        private int[] states;
        private int[] chain;
        private long[] completed;
        private int[] table;
        private int size;
        private long probes;

        Memo(int unkWords) {
            this.unkWords = unkWords;
            int capacity = 256;
            offset = new int[capacity];
            okFull = new int[capacity];
            okLen = new int[capacity];
            unkFull = new int[capacity];
            unkLen = new int[capacity];
            hashes = new long[capacity];
            states = new int[capacity];
            chain = new int[capacity];
            completed = new long[capacity >>> 6];
            table = new int[capacity * 2];
            Arrays.fill(table, -1);
        }

        private int bucket(long okHash, int state) {
            return (int) mix(okHash + 0x9E3779B97F4A7C15L * (state + 1)) & (table.length - 1);
        }

        private static int fullWords(long[] bits) {
            int w = 0;
            while (w < bits.length && bits[w] == -1L) {
                w++;
            }
            return w;
        }

        private static int usedWords(long[] bits) {
            int w = bits.length;
            while (w > 0 && bits[w - 1] == 0) {
                w--;
            }
            return w;
        }

        /**
         * Records a configuration unless it need not be explored: it was seen before, or a fully explored
         * configuration with the same OK ops and value, a subset of its UNKNOWN ops linearized, and no more
         * restricted than it, exists.
         *
         * @return the new entry, or -1 if the configuration is pruned
         */
        int visit(long okHash, int state, boolean restricted, long[] okBits, long[] unkBits) {
            int okF = fullWords(okBits);
            int okL = Math.max(usedWords(okBits) - okF, 0);
            int b = bucket(okHash, state);
            for (int e = table[b]; e >= 0; e = chain[e]) {
                probes++;
                if (hashes[e] != okHash || (states[e] >>> 1) != state || okFull[e] != okF || okLen[e] != okL
                        || !sameWords(offset[e], okBits, okF, okL)) {
                    continue;
                }
                boolean storedRestricted = (states[e] & 1) != 0;
                int rel = compareUnknown(e, unkBits);
                if (rel == 0 && storedRestricted == restricted) {
                    return -1;
                }
                if (rel <= 1 && (!storedRestricted || restricted) && isCompleted(e)) {
                    return -1;
                }
            }
            if (size == hashes.length) {
                grow();
                b = bucket(okHash, state);
            }
            int unkF = fullWords(unkBits);
            int unkL = Math.max(usedWords(unkBits) - unkF, 0);
            if (poolSize + okL + unkL > pool.length) {
                pool = Arrays.copyOf(pool, Math.max(pool.length * 2, poolSize + okL + unkL));
            }
            int e = size++;
            offset[e] = poolSize;
            System.arraycopy(okBits, okF, pool, poolSize, okL);
            poolSize += okL;
            System.arraycopy(unkBits, unkF, pool, poolSize, unkL);
            poolSize += unkL;
            okFull[e] = okF;
            okLen[e] = okL;
            unkFull[e] = unkF;
            unkLen[e] = unkL;
            hashes[e] = okHash;
            states[e] = (state << 1) | (restricted ? 1 : 0);
            chain[e] = table[b];
            table[b] = e;
            return e;
        }

        /** @return the number of entries examined since the last call */
        long takeProbes() {
            long p = probes;
            probes = 0;
            return p;
        }

        void markCompleted(int e) {
            completed[e >>> 6] |= 1L << e;
        }

        private boolean isCompleted(int e) {
            return (completed[e >>> 6] & (1L << e)) != 0;
        }

        private boolean sameWords(int at, long[] bits, int from, int len) {
            for (int w = 0; w < len; w++) {
                if (pool[at + w] != bits[from + w]) {
                    return false;
                }
            }
            return true;
        }

        /** @return 0 if entry e has exactly these UNKNOWN ops, 1 if a strict subset, 2 otherwise */
        private int compareUnknown(int e, long[] unkBits) {
            int full = unkFull[e];
            int end = full + unkLen[e];
            int base = offset[e] + okLen[e] - full;
            boolean equal = true;
            for (int w = 0; w < unkWords; w++) {
                long stored = w < full ? -1L : w < end ? pool[base + w] : 0L;
                if ((stored & ~unkBits[w]) != 0) {
                    return 2;
                }
                equal &= stored == unkBits[w];
            }
            return equal ? 0 : 1;
        }

        private void grow() {
            int capacity = hashes.length * 2;
            offset = Arrays.copyOf(offset, capacity);
            okFull = Arrays.copyOf(okFull, capacity);
            okLen = Arrays.copyOf(okLen, capacity);
            unkFull = Arrays.copyOf(unkFull, capacity);
            unkLen = Arrays.copyOf(unkLen, capacity);
            hashes = Arrays.copyOf(hashes, capacity);
            states = Arrays.copyOf(states, capacity);
            chain = Arrays.copyOf(chain, capacity);
            completed = Arrays.copyOf(completed, capacity >>> 6);
            table = new int[capacity * 2];
            Arrays.fill(table, -1);
            for (int e = 0; e < size; e++) {
                int b = bucket(hashes[e], states[e] >>> 1);
                chain[e] = table[b];
                table[b] = e;
            }
        }
    }
}
