package org.raftkit.sim.lin;

/** The answer of a {@link LinearizabilityChecker}. */
public enum Verdict {
    /** A linearization exists for every key. */
    LINEARIZABLE,
    /** Some key has no linearization: the history is definitely not linearizable. */
    NOT_LINEARIZABLE,
    /**
     * The search budget was exhausted before an answer was found for some key (and no key was found to be
     * non-linearizable). Nothing is claimed either way.
     */
    UNDECIDED
}
