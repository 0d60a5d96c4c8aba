package org.raftkit.runtime;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.message.Entry;
import org.raftkit.spi.LogStorage;

/**
 * A {@link MemoryLogStorage} that survives {@code close()} (like a disk survives a process, so a
 * restarted server can reuse it), counts syncs, and can be told to fail them.
 */
public final class TestLogStorage implements LogStorage {

    private final MemoryLogStorage delegate = new MemoryLogStorage();
    private final AtomicInteger syncs = new AtomicInteger();
    private volatile boolean failSync;

    /** From now on every {@code sync()} throws, as a failing disk would. */
    public void failSyncs() {
        failSync = true;
    }

    /** Successful syncs so far. */
    public int syncCount() {
        return syncs.get();
    }

    @Override
    public long firstIndex() {
        return delegate.firstIndex();
    }

    @Override
    public long lastIndex() {
        return delegate.lastIndex();
    }

    @Override
    public long term(long index) {
        return delegate.term(index);
    }

    @Override
    public List<Entry> entries(long fromIndex, long toIndex, long maxBytes) {
        return delegate.entries(fromIndex, toIndex, maxBytes);
    }

    @Override
    public void append(List<Entry> entries) {
        delegate.append(entries);
    }

    @Override
    public void truncateSuffix(long fromIndex) {
        delegate.truncateSuffix(fromIndex);
    }

    @Override
    public void sync() {
        if (failSync) {
            throw new IllegalStateException("simulated fsync failure");
        }
        syncs.incrementAndGet();
    }

    @Override
    public void close() {
        // The "disk" outlives the server.
    }
}
