package org.raftkit.runtime;

/**
 * A leader's entries proposed in its term and not yet applied, as (index, bytes) pairs oldest
 * first, with their byte total: what {@link ClientCalls} bounds so that calls that time out cannot
 * let the backlog grow. Two rings of {@code long}s that double when full, so a proposal costs no
 * allocation (a {@code long[]} per proposal did). Raft thread only.
 */
final class ProposalBacklog {

    private long[] indexes = new long[64];
    private long[] sizes = new long[64];
    /** Position of the oldest pair. */
    private int head;
    private int count;
    /** Sum of the bytes held. Invariant: equals the sum of the {@code sizes} held. */
    private long bytes;

    /** Adds the entry proposed at {@code index} with {@code sizeBytes} of command. */
    void add(long index, long sizeBytes) {
        if (count == indexes.length) {
            grow();
        }
        int tail = (head + count) & (indexes.length - 1);
        indexes[tail] = index;
        sizes[tail] = sizeBytes;
        count++;
        bytes += sizeBytes;
    }

    /** Drops the entries at or below {@code appliedIndex}. */
    void trimTo(long appliedIndex) {
        while (count > 0 && indexes[head] <= appliedIndex) {
            bytes -= sizes[head];
            head = (head + 1) & (indexes.length - 1);
            count--;
        }
    }

    /** The bytes held. */
    long bytes() {
        return bytes;
    }

    /** Entries held. */
    int size() {
        return count;
    }

    /** Drops everything (this node no longer leads). */
    void clear() {
        head = 0;
        count = 0;
        bytes = 0;
    }

    private void grow() {
        long[] newIndexes = new long[indexes.length * 2];
        long[] newSizes = new long[sizes.length * 2];
        for (int i = 0; i < count; i++) {
            int from = (head + i) & (indexes.length - 1);
            newIndexes[i] = indexes[from];
            newSizes[i] = sizes[from];
        }
        indexes = newIndexes;
        sizes = newSizes;
        head = 0;
    }
}
