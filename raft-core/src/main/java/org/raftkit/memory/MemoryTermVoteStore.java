package org.raftkit.memory;

import org.raftkit.spi.TermVoteStore;

/** A {@link TermVoteStore} in memory, for tests and embedding. Thread-safe. */
public final class MemoryTermVoteStore implements TermVoteStore {

    private volatile TermAndVote state = new TermAndVote(0, null);

    @Override
    public TermAndVote load() {
        return state;
    }

    @Override
    public void save(TermAndVote newState) {
        if (newState.currentTerm() < state.currentTerm()) {
            throw new IllegalStateException("currentTerm must never decrease: " + state + " -> " + newState);
        }
        state = newState;
    }

    @Override
    public void close() {
        // nothing to release
    }
}
