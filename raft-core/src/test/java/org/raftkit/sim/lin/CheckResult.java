package org.raftkit.sim.lin;

import java.util.Objects;

/**
 * The result of checking a history.
 *
 * @param verdict     linearizable, not linearizable, or undecided (search budget exhausted)
 * @param key         the key the verdict is about when it is not {@link Verdict#LINEARIZABLE}; {@code null} otherwise
 * @param explanation a human-readable explanation; for a violation it names the key and lists the ops involved
 */
public record CheckResult(Verdict verdict, String key, String explanation) {

    private static final CheckResult OK = new CheckResult(Verdict.LINEARIZABLE, null, "linearizable");

    /** Validates the components. */
    public CheckResult {
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(explanation, "explanation");
        if (verdict != Verdict.LINEARIZABLE) {
            Objects.requireNonNull(key, "key");
        }
    }

    /** @return the result for a linearizable history */
    public static CheckResult ok() {
        return OK;
    }

    /**
     * @param key         the offending key
     * @param explanation what went wrong
     * @return a {@link Verdict#NOT_LINEARIZABLE} result
     */
    public static CheckResult notLinearizable(String key, String explanation) {
        return new CheckResult(Verdict.NOT_LINEARIZABLE, key, explanation);
    }

    /**
     * @param key         the key whose search exhausted its budget
     * @param explanation details about the search
     * @return an {@link Verdict#UNDECIDED} result
     */
    public static CheckResult undecided(String key, String explanation) {
        return new CheckResult(Verdict.UNDECIDED, key, explanation);
    }

    /** @return true iff the history was shown to be linearizable */
    public boolean isLinearizable() {
        return verdict == Verdict.LINEARIZABLE;
    }

    /** @return true iff the history was shown not to be linearizable */
    public boolean isViolation() {
        return verdict == Verdict.NOT_LINEARIZABLE;
    }

    /** @return true iff the search budget was exhausted without an answer */
    public boolean isUndecided() {
        return verdict == Verdict.UNDECIDED;
    }

    @Override
    public String toString() {
        return verdict == Verdict.LINEARIZABLE ? "LINEARIZABLE" : verdict + " (key \"" + key + "\")\n" + explanation;
    }
}
