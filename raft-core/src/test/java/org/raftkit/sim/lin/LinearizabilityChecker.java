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
 * the not-yet-linearized OK ops, i.e. no pending op precedes it. Each (set of linearized ops, register value)
 * configuration is memoized and never explored twice. On top of that:
 * <ul>
 *   <li>OK ops are tried before UNKNOWN ones, and an UNKNOWN op that would not change the register is never
 *       linearized (dropping it is equivalent);</li>
 *   <li>a configuration is also pruned when an already fully explored configuration had the same OK ops linearized,
 *       the same register value and a subset of its UNKNOWN ops linearized (it offers every option the new one
 *       has), which keeps histories with many timed-out writes tractable.</li>
 * </ul>
 * The search succeeds as soon as every OK op is linearized. Each key gets a budget of search steps (attempts to
 * linearize an op plus backtracks); if it runs out the result is {@link Verdict#UNDECIDED}.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class LinearizabilityChecker {

    /** Default budget of search steps per key. */
    public static final long DEFAULT_MAX_STEPS_PER_KEY = 5_000_000L;

    private static final int MAX_PREFIX_LINES = 25;
    private static final int MAX_HISTORY_LINES = 40;

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

        private final long[] okBits;
        private final long[] unkBits;
        private final long[] zobrist;
        private long okHash;
        private int state;
        private int okRemaining;

        private final int[] stackOp;
        private final int[] stackState;
        private final int[] stackEntry;
        private int depth;

        private final long budget;
        private long steps;
        private final Memo memo;

        // Diagnostics: the deepest configuration reached and where it got stuck.
        private final int[] bestOps;
        private int bestLen;
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
            bestOps = new int[n];
            memo = new Memo(okBits.length, unkBits.length);
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
            if (i < nOk) {
                rnext[rprev[i]] = rnext[i];
                rprev[rnext[i]] = rprev[i];
            }
        }

        private void unlift(int i) {
            next[prev[i]] = i;
            prev[next[i]] = i;
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
            int cand = firstCandidate();
            while (true) {
                if (cand != NONE) {
                    if (++steps > budget) {
                        return Verdict.UNDECIDED;
                    }
                    int newState = apply(cand, state);
                    if (newState != REJECT) {
                        flip(cand);
                        int entry = memo.visit(okHash, newState, okBits, unkBits);
                        if (entry >= 0) {
                            push(cand, entry);
                            state = newState;
                            lift(cand);
                            if (cand < nOk && --okRemaining == 0) {
                                return Verdict.LINEARIZABLE;
                            }
                            cand = firstCandidate();
                            continue;
                        }
                        flip(cand);
                    }
                    cand = nextCandidate(cand);
                } else {
                    recordStuck();
                    if (depth == 0) {
                        return Verdict.NOT_LINEARIZABLE;
                    }
                    if (++steps > budget) {
                        return Verdict.UNDECIDED;
                    }
                    cand = pop();
                    cand = nextCandidate(cand);
                }
            }
        }

        private void push(int op, int entry) {
            int d = depth;
            stackOp[d] = op;
            stackState[d] = state;
            stackEntry[d] = entry;
            if (bestAgree == d && d < bestLen && bestOps[d] == op) {
                bestAgree = d + 1;
            }
            depth = d + 1;
            if (depth > bestLen) {
                System.arraycopy(stackOp, bestAgree, bestOps, bestAgree, depth - bestAgree);
                bestLen = depth;
                bestAgree = depth;
                stuckRecorded = false;
            }
        }

        private int pop() {
            int d = --depth;
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
                count++;
            }
            stuckCandidates = new int[count];
            count = 0;
            for (int c = firstCandidate(); c != NONE; c = nextCandidate(c)) {
                stuckCandidates[count++] = c;
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
            int okInPrefix = 0;
            for (int i = 0; i < bestLen; i++) {
                if (bestOps[i] < nOk) {
                    okInPrefix++;
                }
            }
            sb.append("  Longest linearizable prefix found: ").append(bestLen).append(" op(s), ")
                    .append(okInPrefix).append(" of ").append(nOk).append(" completed op(s)");
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
            for (int c : stuckCandidates) {
                sb.append("    ").append(ops[c]).append("  -- ").append(reason(c, stuckState)).append('\n');
            }
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
                default -> "skipped: it would not change the register here";
            };
        }

        private void appendHistory(StringBuilder sb) {
            List<Operation> sorted = new ArrayList<>(allOps);
            sorted.sort(Comparator.comparingLong(Operation::invokeTime).thenComparingLong(Operation::id));
            long lo = Long.MIN_VALUE;
            long hi = Long.MAX_VALUE;
            if (sorted.size() > MAX_HISTORY_LINES && stuckDeadline != NONE) {
                hi = complete[stuckDeadline];
                lo = invoke[stuckDeadline];
                for (int c : stuckCandidates) {
                    lo = Math.min(lo, invoke[c]);
                }
                sb.append("  Ops on key \"").append(key).append("\" overlapping [").append(lo).append(',')
                        .append(hi).append("] (by invoke time):\n");
            } else {
                sb.append("  All ops on key \"").append(key).append("\" (by invoke time):\n");
            }
            int shown = 0;
            int skipped = 0;
            for (Operation op : sorted) {
                long end = op.outcome() == Outcome.OK ? op.completeTime() : Operation.NEVER;
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
     * Memo of visited configurations: (OK ops linearized, register value) with the set of UNKNOWN ops linearized.
     * Bit sets are stored in one flat pool; buckets are chained through int arrays.
     */
    private static final class Memo {
        private final int okWords;
        private final int unkWords;
        private final int stride;
        private long[] pool;
        private long[] hashes;
        private int[] states;
        private int[] chain;
        private long[] completed;
        private int[] table;
        private int size;

        Memo(int okWords, int unkWords) {
            this.okWords = okWords;
            this.unkWords = unkWords;
            this.stride = okWords + unkWords;
            int capacity = 256;
            pool = new long[capacity * stride];
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

        /**
         * Records a configuration unless it need not be explored: it was seen before, or a fully explored
         * configuration with the same OK ops and value had a subset of its UNKNOWN ops linearized.
         *
         * @return the new entry, or -1 if the configuration is pruned
         */
        int visit(long okHash, int state, long[] okBits, long[] unkBits) {
            int b = bucket(okHash, state);
            for (int e = table[b]; e >= 0; e = chain[e]) {
                if (hashes[e] != okHash || states[e] != state || !sameOk(e, okBits)) {
                    continue;
                }
                int rel = compareUnknown(e, unkBits);
                if (rel == 0 || (rel == 1 && isCompleted(e))) {
                    return -1;
                }
            }
            if (size == hashes.length) {
                grow();
                b = bucket(okHash, state);
            }
            int e = size++;
            System.arraycopy(okBits, 0, pool, e * stride, okWords);
            System.arraycopy(unkBits, 0, pool, e * stride + okWords, unkWords);
            hashes[e] = okHash;
            states[e] = state;
            chain[e] = table[b];
            table[b] = e;
            return e;
        }

        void markCompleted(int e) {
            completed[e >>> 6] |= 1L << e;
        }

        private boolean isCompleted(int e) {
            return (completed[e >>> 6] & (1L << e)) != 0;
        }

        private boolean sameOk(int e, long[] okBits) {
            int base = e * stride;
            for (int w = 0; w < okWords; w++) {
                if (pool[base + w] != okBits[w]) {
                    return false;
                }
            }
            return true;
        }

        /** @return 0 if entry e has exactly these UNKNOWN ops, 1 if a strict subset, 2 otherwise */
        private int compareUnknown(int e, long[] unkBits) {
            int base = e * stride + okWords;
            boolean equal = true;
            for (int w = 0; w < unkWords; w++) {
                long stored = pool[base + w];
                if ((stored & ~unkBits[w]) != 0) {
                    return 2;
                }
                equal &= stored == unkBits[w];
            }
            return equal ? 0 : 1;
        }

        private void grow() {
            int capacity = hashes.length * 2;
            pool = Arrays.copyOf(pool, capacity * stride);
            hashes = Arrays.copyOf(hashes, capacity);
            states = Arrays.copyOf(states, capacity);
            chain = Arrays.copyOf(chain, capacity);
            completed = Arrays.copyOf(completed, capacity >>> 6);
            table = new int[capacity * 2];
            Arrays.fill(table, -1);
            for (int e = 0; e < size; e++) {
                int b = bucket(hashes[e], states[e]);
                chain[e] = table[b];
                table[b] = e;
            }
        }
    }
}
