package org.raftkit.storage;

import org.raftkit.message.Entry;

/**
 * The most recently appended entries, bounded in bytes, so the leader sending to followers that
 * keep up (and the apply thread) rarely read back from disk. It holds a contiguous run of indexes
 * ending at the log's last index: a ring of entries, O(1) lookup by index.
 *
 * <p>Entries still in the write buffer (not yet handed to the file) are never evicted, whatever
 * the bound: a reader could not find them on disk yet. The bound counts {@link Entry#sizeBytes()}.
 *
 * <p>Not thread-safe; {@link LogIndex} guards it.
 */
final class EntryCache {

    private final long maxBytes;
    private Entry[] ring = new Entry[64];
    private int head;
    private int size;
    private long bytes;
    /** Index after the last cached entry. Invariant: cached indexes are [nextIndex - size, nextIndex). */
    private long nextIndex;

    EntryCache(long maxBytes, long nextIndex) {
        this.maxBytes = maxBytes;
        this.nextIndex = nextIndex;
    }

    /** First cached index; equals {@link #nextIndex} when empty. */
    long firstIndex() {
        return nextIndex - size;
    }

    /** Adds the entry that follows the last cached one. */
    void add(Entry e) {
        if (e.index() != nextIndex) {
            throw new IllegalStateException("cache expected index " + nextIndex + ", got " + e);
        }
        if (size == ring.length) {
            Entry[] bigger = new Entry[ring.length * 2];
            for (int i = 0; i < size; i++) {
                bigger[i] = ring[(head + i) & (ring.length - 1)];
            }
            ring = bigger;
            head = 0;
        }
        ring[(head + size) & (ring.length - 1)] = e;
        size++;
        bytes += e.sizeBytes();
        nextIndex++;
    }

    /** The cached entry at {@code index}, which must be in [firstIndex, nextIndex). */
    Entry get(long index) {
        return ring[(head + (int) (index - firstIndex())) & (ring.length - 1)];
    }

    /** Evicts the oldest entries while over the bound, but none above {@code evictableUpTo}. */
    void evict(long evictableUpTo) {
        while (bytes > maxBytes && size > 0 && firstIndex() <= evictableUpTo) {
            removeOldest();
        }
    }

    /** Forgets indexes {@code >= index}; the next entry added must be {@code index}. */
    void truncateFrom(long index) {
        while (size > 0 && nextIndex > index) {
            int last = (head + size - 1) & (ring.length - 1);
            bytes -= ring[last].sizeBytes();
            ring[last] = null;
            size--;
            nextIndex--;
        }
        nextIndex = index;
    }

    /** Forgets indexes below {@code index} (compaction). */
    void dropBefore(long index) {
        while (size > 0 && firstIndex() < index) {
            removeOldest();
        }
    }

    /** Forgets every entry; the next entry added must be {@code nextIndex} (a reset). */
    void clear(long nextIndex) {
        while (size > 0) {
            removeOldest();
        }
        this.nextIndex = nextIndex;
    }

    /** Bytes held, counted as {@link Entry#sizeBytes()}. */
    long bytes() {
        return bytes;
    }

    private void removeOldest() {
        bytes -= ring[head].sizeBytes();
        ring[head] = null;
        head = (head + 1) & (ring.length - 1);
        size--;
    }
}
