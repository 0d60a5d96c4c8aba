package org.raftkit.spi;

import java.util.List;

import org.raftkit.message.Entry;

/**
 * Where a node keeps its Raft log ([persistent] in Figure 2).
 *
 * <h2>Threads</h2>
 * Writes ({@link #append}, {@link #truncateSuffix}, {@link #compactPrefix}, {@link #sync}) are
 * called on one thread only, the runtime's storage thread, in log order. Reads ({@link #term}, {@link #entries},
 * {@link #firstIndex}, {@link #lastIndex}) are called on the Raft thread while writes may be under
 * way, so an implementation must make reads safe against a concurrent write. The core only reads
 * indexes it has been told are durable, so a read never races a write of the same index.
 *
 * <h2>Failure</h2>
 * Any exception thrown by a method is fatal: the node stops (fail-stop) and does not acknowledge,
 * vote or append again. An implementation must never hide a failed write or fsync and carry on.
 *
 * <h2>Indexes</h2>
 * Entries are contiguous from {@link #firstIndex()} to {@link #lastIndex()}. An empty log has
 * {@code firstIndex() == lastIndex() + 1} (a new log: first 1, last 0). The log's first index may
 * be greater than 1 once a prefix has been compacted into a snapshot; {@code term(firstIndex() - 1)}
 * then still answers the term of the last compacted entry.
 */
public interface LogStorage extends AutoCloseable {

    /** Index of the first entry held. Raft thread or storage thread; must not block on writes. */
    long firstIndex();

    /** Index of the last entry written (not necessarily synced). Must not block on writes. */
    long lastIndex();

    /**
     * Term of the entry at {@code index}, for {@code firstIndex() - 1 <= index <= lastIndex()};
     * index 0 has term 0. Called on the Raft thread for every AppendEntries it receives and sends,
     * so it should answer from memory.
     *
     * @throws IndexOutOfBoundsException if the index is outside that range
     */
    long term(long index);

    /**
     * Entries from {@code fromIndex} (inclusive) to {@code toIndex} (exclusive), stopping early once
     * their {@link Entry#sizeBytes()} add up to more than {@code maxBytes} (at least one entry is
     * returned when the range is not empty). Called on the Raft thread; may read from disk. The
     * caller may keep the returned list (it goes into messages and Ready batches as it is), so the
     * storage must not change it afterwards.
     *
     * @throws IndexOutOfBoundsException if the range is not within [firstIndex, lastIndex + 1]
     */
    List<Entry> entries(long fromIndex, long toIndex, long maxBytes);

    /**
     * Appends entries whose first index is {@code lastIndex() + 1}. Storage thread only. The
     * entries need not be durable until {@link #sync()} returns. May block.
     */
    void append(List<Entry> entries);

    /**
     * Removes every entry with index {@code >= fromIndex} (a follower discarding a conflicting
     * suffix, §5.3). Storage thread only. Durable at the next {@link #sync()}.
     */
    void truncateSuffix(long fromIndex);

    /**
     * Discards entries with index {@code <= upToIndex} because a snapshot now covers them (thesis §5).
     * Storage thread only; may block. Keeping entries is always safe, so an implementation may
     * keep some or all of them (segmented storage drops whole segment files only): afterwards
     * {@code firstIndex() <= upToIndex + 1}, no entry above {@code upToIndex} is removed, and
     * {@code term(firstIndex() - 1)} still answers. Durable at the next {@link #sync()} at the
     * latest. The default keeps everything.
     *
     * @throws IllegalArgumentException if {@code upToIndex > lastIndex()}
     */
    default void compactPrefix(long upToIndex) {
        if (upToIndex > lastIndex()) {
            throw new IllegalArgumentException("compact up to " + upToIndex + " beyond last index " + lastIndex());
        }
    }

    /**
     * Discards every entry and makes the log start right after {@code index}, whose term becomes
     * {@code term}: a follower installing a snapshot that its log does not lead up to (Raft paper
     * Figure 13, rule 7). Afterwards {@code firstIndex() == lastIndex() + 1 == index + 1} and
     * {@code term(index) == term}. Storage thread only (or, before the node starts, the thread
     * that builds it); durable at the next {@link #sync()}. The default refuses: a storage
     * without it cannot take snapshots from a leader.
     */
    default void reset(long index, long term) {
        throw new UnsupportedOperationException(getClass().getName() + " cannot reset the log to a snapshot");
    }

    /** Makes every append and truncation so far durable (fsync). Storage thread only; blocks. */
    void sync();

    /** Releases files and memory. Called once, after the node has stopped using the storage. */
    @Override
    void close();
}
