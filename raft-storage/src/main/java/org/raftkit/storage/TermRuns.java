package org.raftkit.storage;

import java.util.Arrays;

/**
 * The term of every entry, kept as runs: (first index of the run, term). A term holds many
 * entries, so this takes a few bytes per term rather than per entry, and {@link #termAt} is a
 * binary search over the runs: O(log terms), no disk.
 *
 * <p>Not thread-safe; {@link LogIndex} guards it.
 */
final class TermRuns {

    /** starts[i] = first index of run i. Invariant: strictly increasing; terms[i] != terms[i + 1]. */
    private long[] starts = new long[16];
    private long[] terms = new long[16];
    private int size;

    /** Records that {@code index} (the next index after the last one added) has {@code term}. */
    void append(long index, long term) {
        if (size > 0 && terms[size - 1] == term) {
            return;
        }
        if (size == starts.length) {
            starts = Arrays.copyOf(starts, size * 2);
            terms = Arrays.copyOf(terms, size * 2);
        }
        starts[size] = index;
        terms[size] = term;
        size++;
    }

    /** The term of {@code index}, which must be at or after the first run's start. */
    long termAt(long index) {
        int lo = 0;
        int hi = size - 1;
        if (hi < 0 || index < starts[0]) {
            throw new IllegalStateException("no term recorded for index " + index);
        }
        while (lo < hi) { // the last run starting at or before index
            int mid = (lo + hi + 1) >>> 1;
            if (starts[mid] <= index) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return terms[lo];
    }

    /** Forgets indexes {@code >= index}. */
    void truncateFrom(long index) {
        while (size > 0 && starts[size - 1] >= index) {
            size--;
        }
    }

    /** Forgets every run (a reset: the log holds nothing). */
    void clear() {
        size = 0;
    }

    /** Forgets the runs that end before {@code index}; the run holding {@code index} stays. */
    void dropBefore(long index) {
        int drop = 0;
        while (drop + 1 < size && starts[drop + 1] <= index) {
            drop++;
        }
        if (drop > 0) {
            System.arraycopy(starts, drop, starts, 0, size - drop);
            System.arraycopy(terms, drop, terms, 0, size - drop);
            size -= drop;
        }
    }

    /** Heap bytes, for the memory figures. */
    long heapBytes() {
        return 32L + 16L * starts.length;
    }
}
