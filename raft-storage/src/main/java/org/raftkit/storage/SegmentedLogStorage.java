package org.raftkit.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

import org.raftkit.message.Entry;
import org.raftkit.spi.LogStorage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Raft log on disk: append-only segment files named by their first index, each record framed
 * with length, CRC32C, index, term and type (docs/STORAGE.md has the format byte by byte).
 *
 * <pre>{@code
 * LogStorage log = SegmentedLogStorage.open(dir);                       // defaults: 64 MiB segments
 * LogStorage log = SegmentedLogStorage.open(dir, SegmentedLogStorage.Options.defaults()
 *         .withSegmentSizeBytes(16 << 20).withCacheBytes(64 << 20));
 * }</pre>
 *
 * <h2>Writes and group commit</h2>
 * {@link #append} encodes into a write buffer and returns without forcing anything; {@link #sync}
 * hands the buffer to the file and forces, once, every segment written since the last sync (and
 * the directory when a segment was created or deleted). The runtime's storage thread appends every
 * {@code Ready} it has queued and then syncs once, so one force serves the whole group.
 *
 * <h2>Reads</h2>
 * {@link #term}, {@link #firstIndex} and {@link #lastIndex} answer from memory (offsets: 4 bytes per
 * entry; terms: a few bytes per term). {@link #entries} serves recent entries from a cache bounded
 * by {@link Options#cacheBytes()} and older ones from disk, checking each record's checksum. Reads
 * are safe on the Raft thread while the storage thread writes: they never wait on the writer's I/O.
 *
 * <h2>Opening</h2>
 * {@link #open} takes an exclusive lock on {@code dir/log.lock}, then reads and checks every record
 * of every segment (recovery; see {@link LogRecovery}): a torn or lost tail left by a crash or a
 * power loss (records never synced, whatever order their pages reached the disk in) is cut off and
 * logged; damage to records a later record vouches were synced makes {@code open} throw
 * {@link CorruptStorageException}.
 *
 * <h2>Failure</h2>
 * An I/O error in a write, force, truncation, compaction or reset puts the storage in a failed state:
 * that call and every later write call throw {@link StorageFailedException}, and the runtime stops
 * the node (fail-stop). A damaged record found by a read throws {@link UncheckedIOException} with a
 * {@link CorruptStorageException} inside.
 */
public final class SegmentedLogStorage implements LogStorage {

    private static final Logger LOG = LoggerFactory.getLogger(SegmentedLogStorage.class);
    private static final String LOCK_FILE = "log.lock";

    /**
     * How a {@link SegmentedLogStorage} is set up. Validated here, in its only constructor.
     *
     * @param segmentSizeBytes  a segment is sealed and the next one started when the next record
     *                          would take it past this size (a single larger record gets a segment
     *                          of its own); 1 KiB .. 1 GiB, default 64 MiB
     * @param cacheBytes        recent entries kept in memory for reads, counted as
     *                          {@link Entry#sizeBytes()}; 0 .. any, default 4 MiB. Entries still in
     *                          the write buffer are kept whatever this says. Cached entries outlive
     *                          young collections, which copy them: a larger cache lengthens every
     *                          young pause (docs/BENCHMARKS.md, "The log's entry cache and the
     *                          collector"); a read of an entry no longer cached goes to its segment file
     * @param syncPolicy        whether {@code sync()} forces; default {@link SyncPolicy#ALWAYS}
     * @param writeBufferBytes  appends collect in a buffer of this size before it goes to the file;
     *                          4 KiB .. 64 MiB, default 256 KiB
     * @param preallocateBytes  the last segment's file grows by this many zero bytes at a time, so
     *                          most forces need not update its size; 0 (grow with each write) ..
     *                          segmentSizeBytes, default 1 MiB
     * @param channelFactory    opens every file channel of the log; a test hook for fault
     *                          injection, default {@link FileChannelFactory#DEFAULT}
     */
    public record Options(long segmentSizeBytes, long cacheBytes, SyncPolicy syncPolicy, int writeBufferBytes,
                          long preallocateBytes, FileChannelFactory channelFactory) {

        /** 64 MiB. */
        public static final long DEFAULT_SEGMENT_SIZE_BYTES = 64L << 20;
        /**
         * 4 MiB: some hundred milliseconds of writes at 100,000 small entries a second, enough for a
         * follower a little behind. 16 MiB, the earlier default, set the p99.9 through the collector.
         */
        public static final long DEFAULT_CACHE_BYTES = 4L << 20;
        /** 256 KiB. */
        public static final int DEFAULT_WRITE_BUFFER_BYTES = 256 << 10;
        /** 1 MiB. */
        public static final long DEFAULT_PREALLOCATE_BYTES = 1L << 20;

        /** Checks every value; see the record's description for the ranges. */
        public Options {
            if (segmentSizeBytes < 1024 || segmentSizeBytes > (1L << 30)) {
                throw new IllegalArgumentException("segmentSizeBytes must be in [1 KiB, 1 GiB], was " + segmentSizeBytes);
            }
            if (cacheBytes < 0) {
                throw new IllegalArgumentException("cacheBytes must be >= 0, was " + cacheBytes);
            }
            Objects.requireNonNull(syncPolicy, "syncPolicy");
            if (writeBufferBytes < 4096 || writeBufferBytes > (64 << 20)) {
                throw new IllegalArgumentException("writeBufferBytes must be in [4 KiB, 64 MiB], was " + writeBufferBytes);
            }
            if (preallocateBytes < 0 || preallocateBytes > segmentSizeBytes) {
                throw new IllegalArgumentException("preallocateBytes must be in [0, segmentSizeBytes = "
                        + segmentSizeBytes + "], was " + preallocateBytes);
            }
            Objects.requireNonNull(channelFactory, "channelFactory");
        }

        /** 64 MiB segments, 4 MiB cache, sync always, 256 KiB write buffer, 1 MiB preallocation. */
        public static Options defaults() {
            return new Options(DEFAULT_SEGMENT_SIZE_BYTES, DEFAULT_CACHE_BYTES, SyncPolicy.ALWAYS,
                    DEFAULT_WRITE_BUFFER_BYTES, DEFAULT_PREALLOCATE_BYTES, FileChannelFactory.DEFAULT);
        }

        /** A copy with this segment size; preallocation is capped to it. */
        public Options withSegmentSizeBytes(long bytes) {
            return new Options(bytes, cacheBytes, syncPolicy, writeBufferBytes, Math.min(preallocateBytes, bytes),
                    channelFactory);
        }

        /** A copy with this cache bound. */
        public Options withCacheBytes(long bytes) {
            return new Options(segmentSizeBytes, bytes, syncPolicy, writeBufferBytes, preallocateBytes, channelFactory);
        }

        /** A copy with this sync policy. */
        public Options withSyncPolicy(SyncPolicy policy) {
            return new Options(segmentSizeBytes, cacheBytes, policy, writeBufferBytes, preallocateBytes, channelFactory);
        }

        /** A copy with this write buffer size. */
        public Options withWriteBufferBytes(int bytes) {
            return new Options(segmentSizeBytes, cacheBytes, syncPolicy, bytes, preallocateBytes, channelFactory);
        }

        /** A copy with this preallocation step (0 turns preallocation off). */
        public Options withPreallocateBytes(long bytes) {
            return new Options(segmentSizeBytes, cacheBytes, syncPolicy, writeBufferBytes, bytes, channelFactory);
        }

        /** A copy that opens files through {@code factory} (fault injection in tests). */
        public Options withChannelFactory(FileChannelFactory factory) {
            return new Options(segmentSizeBytes, cacheBytes, syncPolicy, writeBufferBytes, preallocateBytes, factory);
        }
    }

    private final Path dir;
    private final Options options;
    private final FileChannel lock;
    private final LogIndex index;
    private final LogWriter writer;

    private SegmentedLogStorage(Path dir, Options options, FileChannel lock, LogIndex index, LogWriter writer) {
        this.dir = dir;
        this.options = options;
        this.lock = lock;
        this.index = index;
        this.writer = writer;
    }

    /** {@link #open(Path, Options)} with {@link Options#defaults()}. */
    public static SegmentedLogStorage open(Path dir) throws IOException {
        return open(dir, Options.defaults());
    }

    /**
     * Opens (creating if needed) the log in {@code dir}: locks it, recovers it (see the class
     * comment) and returns it ready for appends after its last index. Called once per node, before
     * the server starts, on the caller's thread; blocks for the recovery (it reads every record).
     *
     * @throws CorruptStorageException if the files are damaged; the message names file, offset and index
     * @throws IOException             if the directory is already open (by this or another process),
     *                                 or cannot be read
     */
    public static SegmentedLogStorage open(Path dir, Options options) throws IOException {
        Objects.requireNonNull(options, "options");
        Files.createDirectories(dir);
        FileChannel lock = StorageFiles.lock(dir, LOCK_FILE, "a SegmentedLogStorage");
        try {
            if (options.syncPolicy() == SyncPolicy.NEVER) {
                LOG.warn("{}: sync policy NEVER: entries are not forced to disk; a machine crash loses acknowledged"
                        + " entries and breaks Raft's guarantees. For benchmarks only.", dir);
            }
            long start = System.nanoTime();
            LogRecovery.Result r = LogRecovery.recover(dir, options);
            LogIndex index = new LogIndex(r.segments(), r.terms(), r.firstIndex(), r.lastIndex(), r.termBeforeFirst(),
                    options.cacheBytes());
            LOG.info("{}: opened log [{}, {}] in {} segments, checked in {} ms", dir, r.firstIndex(), r.lastIndex(),
                    r.segments().size(), (System.nanoTime() - start) / 1_000_000);
            return new SegmentedLogStorage(dir, options, lock, index,
                    new LogWriter(dir, options, index, r.lastSegmentFileBytes()));
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /** The directory this log lives in. */
    public Path directory() {
        return dir;
    }

    /** The options it was opened with. */
    public Options options() {
        return options;
    }

    /** Whether a write has failed (fail-stop); any thread. */
    public boolean isFailed() {
        return writer.failure() != null;
    }

    /** {@inheritDoc} From memory; any thread; never blocks on I/O. */
    @Override
    public long firstIndex() {
        return index.firstIndex();
    }

    /** {@inheritDoc} From memory; any thread; never blocks on I/O. */
    @Override
    public long lastIndex() {
        return index.lastIndex();
    }

    /** {@inheritDoc} From memory (a binary search over the term runs); any thread; never blocks on I/O. */
    @Override
    public long term(long index) {
        return this.index.term(index);
    }

    /**
     * {@inheritDoc} Recent entries come from the cache; older ones are read from their segment
     * (one positional read per segment touched) and checked against their checksums. Raft thread;
     * blocks on disk reads only.
     *
     * @throws UncheckedIOException wrapping {@link CorruptStorageException} if a record read back is
     *                              damaged, or the {@link IOException} of a failed read
     */
    @Override
    public List<Entry> entries(long fromIndex, long toIndex, long maxBytes) {
        LogIndex.ReadPlan plan = index.plan(fromIndex, toIndex, maxBytes);
        if (plan.diskReads().isEmpty()) {
            return plan.cached();
        }
        List<Entry> out = new ArrayList<>();
        CRC32C crc = new CRC32C();
        for (LogIndex.DiskRead read : plan.diskReads()) {
            readRecords(read, out, crc);
        }
        out.addAll(plan.cached());
        return out;
    }

    /**
     * {@inheritDoc} Buffers the records (a write reaches the file when the buffer fills); no force.
     *
     * @throws StorageFailedException   if a write fails now or failed before
     * @throws IllegalArgumentException if the first entry is not {@code lastIndex() + 1} or the
     *                                  indexes are not consecutive
     */
    @Override
    public void append(List<Entry> entries) {
        writer.append(entries);
    }

    /**
     * {@inheritDoc} Deletes the later segments (newest first, each deletion forced before the next
     * step), then cuts the segment file holding {@code fromIndex} and forces the cut, all at once
     * (not only at the next sync): otherwise a crash could bring a deleted segment back behind the
     * cut, or mix new records written over the cut with old ones. Truncation is rare (a follower
     * repairing a conflict), so the extra forces cost little.
     *
     * @throws StorageFailedException if an I/O call fails now or failed before
     */
    @Override
    public void truncateSuffix(long fromIndex) {
        writer.truncateFrom(fromIndex);
    }

    /**
     * {@inheritDoc} Deletes whole segments only, never the last: afterwards the log starts at the
     * first index of the segment holding {@code upToIndex + 1}, or of the last segment. The new start
     * and the term before it are saved durably in {@code log-start} before any file is deleted.
     *
     * @throws StorageFailedException if an I/O call fails now or failed before
     */
    @Override
    public void compactPrefix(long upToIndex) {
        writer.compactTo(upToIndex);
    }

    /**
     * {@inheritDoc} Durable when it returns, not only at the next sync: saves the new start in
     * {@code log-start} marked "reset in progress" (from then on a restart finds the reset log,
     * whatever segment files are left), deletes every segment and forces the directory, then saves
     * the start again without the mark. Entries still in the write buffer are dropped unwritten. A
     * reset is rare (a follower installing a leader's snapshot), so its five forces cost little.
     *
     * @throws StorageFailedException   if an I/O call fails now or failed before
     * @throws IllegalArgumentException if {@code index} or {@code term} is negative, or index 0
     *                                  would get a term other than 0
     */
    @Override
    public void reset(long index, long term) {
        writer.reset(index, term);
    }

    /**
     * {@inheritDoc} Writes out the buffer, then forces each segment written since the last sync
     * ({@code force(false)}: data and the size, not timestamps) and, if a segment was created or
     * deleted, the directory. Under {@link SyncPolicy#NEVER} it only writes out the buffer.
     *
     * @throws StorageFailedException if an I/O call fails now or failed before; never retried
     */
    @Override
    public void sync() {
        writer.sync();
    }

    /** Syncs what is pending (unless failed), closes the files and releases the directory lock. Idempotent. */
    @Override
    public synchronized void close() {
        if (!lock.isOpen()) {
            return;
        }
        writer.close();
        try {
            lock.close();
        } catch (IOException e) {
            LOG.warn("{}: releasing the lock failed", dir, e);
        }
    }

    /**
     * Heap held by the in-memory index (record offsets and term runs) and, second, by the cached
     * entries (as {@link Entry#sizeBytes()}). For benchmarks and monitoring; any thread.
     */
    public long[] heapBytes() {
        return index.heapBytes();
    }

    private void readRecords(LogIndex.DiskRead read, List<Entry> out, CRC32C crc) {
        Segment segment = read.segment();
        ByteBuffer bytes = ByteBuffer.allocate(read.endOffset() - read.startOffset());
        try {
            StorageFiles.readFully(segment.channel, bytes, read.startOffset());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + segment.file + " at offset " + read.startOffset(), e);
        }
        int at = 0;
        for (int i = 0; i < read.count(); i++) {
            long expected = read.firstIndex() + i;
            boolean valid = bytes.limit() - at >= RecordFormat.HEADER_BYTES
                    && RecordFormat.plausibleHeader(bytes, at, bytes.limit() - at)
                    && RecordFormat.index(bytes, at) == expected
                    && RecordFormat.checksumMatches(bytes, at, crc);
            if (!valid) {
                throw new UncheckedIOException(new CorruptStorageException(segment.file, read.startOffset() + at,
                        expected, "record read back fails its checks"));
            }
            Entry e = RecordFormat.decode(bytes, at);
            out.add(e);
            at += RecordFormat.recordBytes(e);
        }
    }

    @Override
    public String toString() {
        return "SegmentedLogStorage{" + dir + ", [" + firstIndex() + ", " + lastIndex() + "]}";
    }
}
