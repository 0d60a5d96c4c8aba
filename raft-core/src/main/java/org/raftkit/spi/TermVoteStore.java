package org.raftkit.spi;

/**
 * Keeps a node's {@code currentTerm} and {@code votedFor} ([persistent] in Figure 2). Both must be
 * durable before any vote or vote request that depends on them leaves the node (thesis §3.8):
 * a node that forgets its vote after a crash could vote twice in one term.
 *
 * <p>{@link #load} is called once, before the node starts, on the thread that builds the server.
 * {@link #save} is called on the runtime's storage thread only; it blocks until the state is
 * durable. A thrown exception stops the node (fail-stop).
 */
public interface TermVoteStore extends AutoCloseable {

    /** The saved state, or {@code TermAndVote(0, null)} for a node that never saved one. */
    TermAndVote load();

    /** Replaces the saved state atomically and durably. */
    void save(TermAndVote state);

    @Override
    void close();

    /**
     * A node's persistent election state.
     *
     * @param currentTerm latest term the node has seen (initialized to 0, increases monotonically)
     * @param votedFor    candidate that received the vote in currentTerm, or null if none
     */
    record TermAndVote(long currentTerm, String votedFor) {
        public TermAndVote {
            if (currentTerm < 0) {
                throw new IllegalArgumentException("currentTerm must be >= 0, was " + currentTerm);
            }
        }
    }
}
