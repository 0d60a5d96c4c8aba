package org.raftkit.memory;

import java.util.ArrayList;
import java.util.List;

import org.raftkit.message.Entry;
import org.raftkit.spi.LogStorage;

/**
 * A {@link LogStorage} in memory, for tests and for embedding where durability comes from
 * elsewhere. {@link #sync()} does nothing: everything is lost when the process ends.
 *
 * <p>Thread-safe: one writer and any number of readers, under one lock. Reads are short (list
 * lookups), so the lock is never held long.
 */
public final class MemoryLogStorage implements LogStorage {

    private final ArrayList<Entry> entries = new ArrayList<>();
    /** Index of entries.get(0). */
    private long firstIndex = 1;
    private long termBeforeFirst;

    /** An empty log. */
    public MemoryLogStorage() {
    }

    /** A copy of this log (for simulating a restart from what was durable). */
    public synchronized MemoryLogStorage copy() {
        MemoryLogStorage c = new MemoryLogStorage();
        c.entries.addAll(entries);
        c.firstIndex = firstIndex;
        c.termBeforeFirst = termBeforeFirst;
        return c;
    }

    @Override
    public synchronized long firstIndex() {
        return firstIndex;
    }

    @Override
    public synchronized long lastIndex() {
        return firstIndex + entries.size() - 1;
    }

    @Override
    public synchronized long term(long index) {
        if (index == firstIndex - 1) {
            return index == 0 ? 0 : termBeforeFirst;
        }
        checkIndex(index);
        return entries.get((int) (index - firstIndex)).term();
    }

    @Override
    public synchronized List<Entry> entries(long fromIndex, long toIndex, long maxBytes) {
        if (fromIndex < firstIndex || toIndex > lastIndex() + 1 || fromIndex > toIndex) {
            throw new IndexOutOfBoundsException("range [" + fromIndex + ", " + toIndex + ") outside ["
                    + firstIndex + ", " + lastIndex() + "]");
        }
        List<Entry> out = new ArrayList<>((int) Math.min(toIndex - fromIndex, 1024));
        long bytes = 0;
        for (long i = fromIndex; i < toIndex; i++) {
            Entry e = entries.get((int) (i - firstIndex));
            if (!out.isEmpty() && bytes + e.sizeBytes() > maxBytes) {
                break;
            }
            bytes += e.sizeBytes();
            out.add(e);
        }
        return out;
    }

    @Override
    public synchronized void append(List<Entry> batch) {
        long expected = lastIndex() + 1;
        for (Entry e : batch) {
            if (e.index() != expected) {
                throw new IllegalArgumentException("append of " + e + " but next index is " + expected);
            }
            entries.add(e);
            expected++;
        }
    }

    @Override
    public synchronized void truncateSuffix(long fromIndex) {
        if (fromIndex <= lastIndex()) {
            if (fromIndex < firstIndex) {
                throw new IllegalArgumentException("truncate from " + fromIndex + " below first index " + firstIndex);
            }
            entries.subList((int) (fromIndex - firstIndex), entries.size()).clear();
        }
    }

    /** Drops exactly the entries up to {@code upToIndex} and remembers the last one's term. */
    @Override
    public synchronized void compactPrefix(long upToIndex) {
        if (upToIndex > lastIndex()) {
            throw new IllegalArgumentException("compact up to " + upToIndex + " beyond last index " + lastIndex());
        }
        if (upToIndex < firstIndex) {
            return;
        }
        termBeforeFirst = term(upToIndex);
        entries.subList(0, (int) (upToIndex - firstIndex + 1)).clear();
        firstIndex = upToIndex + 1;
    }

    @Override
    public synchronized void reset(long index, long term) {
        entries.clear();
        firstIndex = index + 1;
        termBeforeFirst = term;
    }

    @Override
    public void sync() {
        // Memory is as durable as it gets.
    }

    @Override
    public synchronized void close() {
        entries.clear();
    }

    private void checkIndex(long index) {
        if (index < firstIndex || index > lastIndex()) {
            throw new IndexOutOfBoundsException("index " + index + " outside [" + firstIndex + ", " + lastIndex() + "]");
        }
    }
}
