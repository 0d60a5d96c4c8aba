package org.raftkit.storage;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.raftkit.message.Entry;

/** Entries whose content is a function of their index, so any test (or another process) can check them. */
final class TestEntries {

    private TestEntries() {
    }

    /** A command of {@code size} bytes at {@code index}; the bytes depend only on index and size. */
    static Entry entry(long index, long term, int size) {
        byte[] data = new byte[size];
        new SplittableRandom(index * 31 + size).nextBytes(data);
        return Entry.command(index, term, data);
    }

    /** Entries [from, from + count) of term {@code term}, each {@code size} bytes. */
    static List<Entry> range(long from, int count, long term, int size) {
        List<Entry> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(entry(from + i, term, size));
        }
        return out;
    }

    /** Entries [from, from + count) of term {@code term} with sizes drawn from {@code random} in [0, maxSize]. */
    static List<Entry> randomSizes(long from, int count, long term, int maxSize, SplittableRandom random) {
        List<Entry> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(entry(from + i, term, random.nextInt(maxSize + 1)));
        }
        return out;
    }
}
