package org.raftkit.storage;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.raftkit.message.Entry;
import org.raftkit.spi.LogStorage;

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

    /**
     * Appends {@code batches} batches to an empty {@code log}, each of 1 to {@code maxBatch} entries
     * of 0 to {@code maxSize} bytes, syncing after each; the term goes up every {@code batchesPerTerm}
     * batches. Returns what was written.
     */
    static List<Entry> appendSyncedBatches(LogStorage log, SplittableRandom random, int batches, int maxBatch,
                                           int maxSize, int batchesPerTerm) {
        List<Entry> written = new ArrayList<>();
        long next = log.lastIndex() + 1;
        for (int batch = 0; batch < batches; batch++) {
            List<Entry> b = randomSizes(next, 1 + random.nextInt(maxBatch), 1 + batch / batchesPerTerm, maxSize, random);
            log.append(b);
            log.sync();
            written.addAll(b);
            next += b.size();
        }
        return written;
    }
}
