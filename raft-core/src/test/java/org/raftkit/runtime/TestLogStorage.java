package org.raftkit.runtime;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.message.Entry;
import org.raftkit.spi.LogStorage;

/**
 * A {@link MemoryLogStorage} that survives {@code close()} (like a disk survives a process, so a
 * restarted server can reuse it), counts syncs, and can be told to fail them or to hold the next
 * one until released (a slow disk).
 */
public final class TestLogStorage implements LogStorage {

    private final MemoryLogStorage delegate = new MemoryLogStorage();
    private final AtomicInteger syncs = new AtomicInteger();
    private volatile boolean failSync;
    private volatile CountDownLatch hold;
    private volatile boolean held;

    /** From now on every {@code sync()} throws, as a failing disk would. */
    public void failSyncs() {
        failSync = true;
    }

    /** The next {@code sync()} blocks until {@link #release()} (at most 10 s). */
    public void holdNextSync() {
        hold = new CountDownLatch(1);
    }

    /** Whether a sync has reached the hold. */
    public boolean syncHeld() {
        return held;
    }

    /** Lets a held sync finish. */
    public void release() {
        CountDownLatch h = hold;
        if (h != null) {
            h.countDown();
        }
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
        CountDownLatch h = hold;
        if (h != null) {
            held = true;
            try {
                h.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            hold = null;
        }
        syncs.incrementAndGet();
    }

    @Override
    public void close() {
        // The "disk" outlives the server.
    }
}
