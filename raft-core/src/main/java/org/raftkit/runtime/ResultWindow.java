package org.raftkit.runtime;

import java.util.Arrays;

/**
 * One session's kept results, by sequence number, in order: what {@link Sessions} looks up before
 * every session command and trims to the client's floor. Sequence numbers arrive almost in order
 * (a node draws them at submit, and entries are appended in about that order), so this is a sorted
 * window over two arrays: appending at the end and dropping from the front cost nothing, a lookup is
 * a binary search, and no key is boxed. A number out of order is inserted in its place.
 *
 * <p>Apply loop only, like {@link Sessions}.
 */
final class ResultWindow {

    private long[] sequences = new long[4];
    private byte[][] results = new byte[4][];
    /** The window is {@code [head, head + size)} of the arrays. */
    private int head;
    private int size;

    int size() {
        return size;
    }

    /** The result kept for {@code sequence}, or null. */
    byte[] get(long sequence) {
        int at = find(sequence);
        return at >= 0 ? results[at] : null;
    }

    /**
     * Keeps {@code result} for {@code sequence}; returns the result it replaced, or null.
     */
    byte[] put(long sequence, byte[] result) {
        if (size == 0 || sequence > sequences[head + size - 1]) {
            makeRoom();
            sequences[head + size] = sequence;
            results[head + size] = result;
            size++;
            return null;
        }
        int at = find(sequence);
        if (at >= 0) {
            byte[] old = results[at];
            results[at] = result;
            return old;
        }
        // Room first: making it may slide the window, which moves every position.
        makeRoom();
        int insertAt = -find(sequence) - 1;
        int end = head + size;
        System.arraycopy(sequences, insertAt, sequences, insertAt + 1, end - insertAt);
        System.arraycopy(results, insertAt, results, insertAt + 1, end - insertAt);
        sequences[insertAt] = sequence;
        results[insertAt] = result;
        size++;
        return null;
    }

    /**
     * Forgets every result below {@code floor}; returns the bytes they held plus
     * {@code overheadEach} per result.
     */
    long dropBelow(long floor, long overheadEach) {
        long freed = 0;
        while (size > 0 && sequences[head] < floor) {
            freed += overheadEach + results[head].length;
            results[head] = null;
            head++;
            size--;
        }
        if (size == 0) {
            head = 0;
        }
        return freed;
    }

    /** The bytes of every kept result plus {@code overheadEach} per result. */
    long bytes(long overheadEach) {
        long b = 0;
        for (int i = head; i < head + size; i++) {
            b += overheadEach + results[i].length;
        }
        return b;
    }

    /** The {@code i}-th kept sequence number, in order. */
    long sequenceAt(int i) {
        return sequences[head + i];
    }

    /** The {@code i}-th kept result, in order. */
    byte[] resultAt(int i) {
        return results[head + i];
    }

    /** Index in the arrays of {@code sequence}, or {@code -(insertion point) - 1}. */
    private int find(long sequence) {
        return Arrays.binarySearch(sequences, head, head + size, sequence);
    }

    /** Room for one more at the end: slides the window to the front, or grows the arrays. */
    private void makeRoom() {
        if (head + size < sequences.length) {
            return;
        }
        if (head > 0 && size < sequences.length / 2) {
            System.arraycopy(sequences, head, sequences, 0, size);
            System.arraycopy(results, head, results, 0, size);
            Arrays.fill(results, size, head + size, null);
            head = 0;
            return;
        }
        int capacity = sequences.length * 2;
        long[] s = new long[capacity];
        byte[][] r = new byte[capacity][];
        System.arraycopy(sequences, head, s, 0, size);
        System.arraycopy(results, head, r, 0, size);
        sequences = s;
        results = r;
        head = 0;
    }
}
