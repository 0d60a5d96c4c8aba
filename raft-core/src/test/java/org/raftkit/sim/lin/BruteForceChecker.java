package org.raftkit.sim.lin;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A deliberately naive linearizability checker used to validate {@link LinearizabilityChecker} on tiny histories.
 *
 * <p>It checks the whole history at once (all keys together, no per-key decomposition): for every subset of the
 * UNKNOWN writes/CAS ops, it enumerates every ordering of the OK ops plus that subset that respects real-time order
 * (A precedes B iff A is OK and {@code A.completeTime < B.invokeTime}) and runs the sequential key-value model on
 * it. FAILED ops and UNKNOWN reads are dropped. The history is linearizable iff some ordering is legal.
 */
public final class BruteForceChecker {

    /** Largest number of (non-dropped) ops accepted. */
    public static final int MAX_OPS = 8;

    private BruteForceChecker() {
    }

    /**
     * @param history a history of at most {@link #MAX_OPS} relevant ops
     * @return whether some legal sequential ordering exists
     */
    public static boolean isLinearizable(List<Operation> history) {
        List<Operation> required = new ArrayList<>();
        List<Operation> optional = new ArrayList<>();
        for (Operation op : history) {
            Objects.requireNonNull(op);
            if (op.outcome() == Outcome.OK) {
                required.add(op);
            } else if (op.outcome() == Outcome.UNKNOWN && op.kind() != OpKind.READ) {
                optional.add(op);
            }
        }
        if (required.size() + optional.size() > MAX_OPS) {
            throw new IllegalArgumentException("too many ops for brute force: " + history.size());
        }
        for (int subset = 0; subset < (1 << optional.size()); subset++) {
            List<Operation> chosen = new ArrayList<>(required);
            for (int i = 0; i < optional.size(); i++) {
                if ((subset & (1 << i)) != 0) {
                    chosen.add(optional.get(i));
                }
            }
            Operation[] order = new Operation[chosen.size()];
            if (permute(chosen, new boolean[chosen.size()], order, 0)) {
                return true;
            }
        }
        return false;
    }

    /** Fills order[pos..] with every arrangement of the unused ops that respects real-time order. */
    private static boolean permute(List<Operation> chosen, boolean[] used, Operation[] order, int pos) {
        if (pos == order.length) {
            return legal(order);
        }
        for (int i = 0; i < chosen.size(); i++) {
            if (used[i] || !mayGoNext(chosen, used, i)) {
                continue;
            }
            used[i] = true;
            order[pos] = chosen.get(i);
            boolean found = permute(chosen, used, order, pos + 1);
            used[i] = false;
            if (found) {
                return true;
            }
        }
        return false;
    }

    /** Op i may be placed next iff no other unplaced op precedes it in real time. */
    private static boolean mayGoNext(List<Operation> chosen, boolean[] used, int i) {
        Operation candidate = chosen.get(i);
        for (int j = 0; j < chosen.size(); j++) {
            if (j != i && !used[j] && precedes(chosen.get(j), candidate)) {
                return false;
            }
        }
        return true;
    }

    private static boolean precedes(Operation a, Operation b) {
        return a.outcome() == Outcome.OK && a.completeTime() < b.invokeTime();
    }

    /** Runs the sequential key-value model (every key starts absent) over a complete ordering. */
    private static boolean legal(Operation[] order) {
        Map<String, String> store = new HashMap<>();
        for (Operation op : order) {
            String current = store.get(op.key());
            switch (op.kind()) {
                case READ -> {
                    if (!Objects.equals(current, op.output())) {
                        return false;
                    }
                }
                case WRITE -> store.put(op.key(), op.value());
                case CAS -> {
                    boolean matches = Objects.equals(current, op.expected());
                    if (op.outcome() == Outcome.OK && matches != op.casSucceeded()) {
                        return false;
                    }
                    if (matches) {
                        store.put(op.key(), op.value());
                    }
                }
            }
        }
        return true;
    }
}
