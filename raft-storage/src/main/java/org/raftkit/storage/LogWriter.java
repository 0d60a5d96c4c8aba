package org.raftkit.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;

import org.raftkit.message.Entry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write side of {@link SegmentedLogStorage}: encodes entries into a write buffer, hands full
 * buffers to the last segment's file, rolls to a new segment when the next record would not fit,
 * preallocates ahead of the write position, and forces whatever changed on {@link #sync()}.
 *
 * <h2>Threads</h2>
 * The storage thread only. It publishes each appended entry to the {@link LogIndex} (and thus to
 * readers) after the entry is in the buffer or the file, never holding the index's monitor
 * during I/O.
 *
 * <h2>Failure</h2>
 * The first I/O error puts the writer in its failed state for good: that call and every later
 * write, truncation, compaction and sync throw {@link StorageFailedException}. Nothing is
 * retried; in particular a failed force is never repeated, because the kernel may have dropped the
 * pages it could not write and a later force that succeeds would lie.
 */
final class LogWriter {

    private static final Logger LOG = LoggerFactory.getLogger(LogWriter.class);
    private static final int ZERO_CHUNK_BYTES = 64 * 1024;
    /**
     * Writes at least this large grow the file by themselves instead of zero-filling ahead: for them,
     * writing every byte twice (zeros, then data) costs more bandwidth than the size update it saves
     * (measured: 4 KiB x 64 entries a sync ran at 0.7 of the raw floor with zero-filling).
     */
    private static final int LARGE_WRITE_BYTES = 64 * 1024;

    private final Path dir;
    private final SegmentedLogStorage.Options options;
    private final LogIndex index;
    /** Allocated at the first append (direct memory is freed only by the GC, and many opens only read). */
    private ByteBuffer buffer;
    private final ByteBuffer header = ByteBuffer.allocate(RecordFormat.HEADER_BYTES);
    /** Allocated at the first preallocation. */
    private ByteBuffer zeros;
    private final CRC32C crc = new CRC32C();
    /** Segments written since the last sync, to force. */
    private final Set<Segment> unsynced = new LinkedHashSet<>();
    /** A segment was created or deleted since the last sync: force the directory too. */
    private boolean directoryUnsynced;

    /** Where appends go; null only for a log that never had a segment. */
    private Segment active;
    /** Bytes of {@link #active} in its file; the buffer holds what comes after. */
    private long written;
    /** Length of {@link #active}'s file, zeros beyond {@link #written} included. */
    private long allocated;
    /** Highest index whose record is in the buffer (meaningful while the buffer is not empty). */
    private long lastBufferedIndex;
    /**
     * Highest index known durable: every record up to it was forced by a completed sync, or was on
     * disk at open (recovery forces it). Written into each record's header as recovery's evidence
     * (see {@link RecordFormat}). Invariant: durableIndex <= index.lastIndex(), and no record of an
     * index above it was ever acknowledged by this writer.
     */
    private long durableIndex;
    private volatile Throwable failure;

    LogWriter(Path dir, SegmentedLogStorage.Options options, LogIndex index, long lastSegmentFileBytes) {
        this.dir = dir;
        this.options = options;
        this.index = index;
        this.active = index.lastSegment();
        this.written = active == null ? 0 : active.endOffset();
        this.allocated = lastSegmentFileBytes;
        this.durableIndex = index.lastIndex();
    }

    /** The first failure, or null while healthy. Any thread. */
    Throwable failure() {
        return failure;
    }

    /** See {@link SegmentedLogStorage#append}. */
    void append(List<Entry> entries) {
        checkHealthy();
        if (entries.isEmpty()) {
            return;
        }
        long expected = index.lastIndex() + 1;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (e.index() != expected + i) {
                throw new IllegalArgumentException("append of " + e + " but the next index is " + (expected + i));
            }
            if (e.data().length > RecordFormat.MAX_PAYLOAD_BYTES) {
                throw new IllegalArgumentException(e + " is larger than " + RecordFormat.MAX_PAYLOAD_BYTES + " bytes");
            }
        }
        if (buffer == null) {
            buffer = ByteBuffer.allocateDirect(options.writeBufferBytes());
        }
        try {
            for (Entry e : entries) {
                appendOne(e);
            }
        } catch (IOException e) {
            throw fail("append to " + (active == null ? dir : active.file), e);
        }
    }

    /** See {@link SegmentedLogStorage#truncateSuffix}. Durable when it returns. */
    void truncateFrom(long fromIndex) {
        checkHealthy();
        if (fromIndex > index.lastIndex()) {
            return;
        }
        if (fromIndex < index.firstIndex()) {
            throw new IllegalArgumentException("truncate from " + fromIndex + " below first index " + index.firstIndex());
        }
        try {
            // Buffered bytes first, so the file and the offsets agree before cutting.
            flush();
            durableIndex = Math.min(durableIndex, fromIndex - 1);
            List<Segment> removed = index.truncateFrom(fromIndex);
            // Later segments go first, newest first, each unlink durable before the next one and before
            // the cut: a crash at any point then leaves the old log or a prefix of it. Cutting first
            // and unlinking after, a lost unlink would bring a segment back behind the cut: a gap.
            for (int i = removed.size() - 1; i >= 0; i--) {
                Segment s = removed.get(i);
                unsynced.remove(s);
                s.closeChannel();
                options.channelFactory().delete(s.file);
                forceDirectory();
            }
            active = index.lastSegment();
            written = active.endOffset();
            // Cut the file, not just the offsets: records left past the end could otherwise be read back
            // after a crash as if they continued the log. And make the cut durable now, before anything
            // is written over it, so a crash can never mix old and new records.
            active.channel.truncate(written);
            allocated = written;
            force(active.channel, true);
            unsynced.remove(active);
            if (directoryUnsynced) {
                forceDirectory();
            }
        } catch (IOException e) {
            throw fail("truncate " + dir + " from index " + fromIndex, e);
        }
    }

    /** See {@link SegmentedLogStorage#compactPrefix}. */
    void compactTo(long upToIndex) {
        checkHealthy();
        if (upToIndex > index.lastIndex()) {
            throw new IllegalArgumentException("compact up to " + upToIndex + " beyond last index " + index.lastIndex());
        }
        List<Segment> segments = index.segments();
        int keepFrom = 0;
        // Whole segments only, and never the last one (appends go there).
        while (keepFrom + 1 < segments.size() && segments.get(keepFrom + 1).firstIndex - 1 <= upToIndex) {
            keepFrom++;
        }
        if (keepFrom == 0) {
            return;
        }
        long newFirst = segments.get(keepFrom).firstIndex;
        try {
            // The segment the new start names must be durably in the directory before the start is saved:
            // otherwise a power loss could keep the renamed log-start and lose the segment's creation, a
            // log starting at a segment that is not there.
            if (directoryUnsynced) {
                forceDirectory();
            }
            // The start is saved first: a crash before every old segment is gone leaves files that recovery
            // recognises as obsolete, never a log with a hole at its start.
            long termBeforeFirst = index.term(newFirst - 1);
            new LogStart(newFirst, termBeforeFirst).write(dir, options.channelFactory());
            for (Segment s : index.dropSegmentsBefore(newFirst, termBeforeFirst)) {
                unsynced.remove(s);
                s.closeChannel();
                options.channelFactory().delete(s.file);
            }
            directoryUnsynced = true;
        } catch (IOException e) {
            throw fail("compact " + dir + " up to index " + upToIndex, e);
        }
    }

    /** See {@link SegmentedLogStorage#sync}. */
    void sync() {
        checkHealthy();
        try {
            flush();
            for (Segment s : unsynced) {
                force(s.channel, false);
            }
            unsynced.clear();
            if (directoryUnsynced) {
                forceDirectory();
            }
            durableIndex = index.lastIndex();
        } catch (IOException e) {
            throw fail("sync " + dir, e);
        }
    }

    /** Syncs what is pending if healthy, then closes every segment. Best effort: logs, never throws. */
    void close() {
        if (failure == null) {
            try {
                sync();
            } catch (RuntimeException e) {
                LOG.warn("{}: final sync on close failed", dir, e);
            }
        }
        for (Segment s : index.segments()) {
            try {
                s.closeChannel();
            } catch (IOException e) {
                LOG.warn("{}: closing failed", s.file, e);
            }
        }
    }

    private void appendOne(Entry e) throws IOException {
        int recordBytes = RecordFormat.recordBytes(e);
        if (active == null) {
            openSegment(e.index());
        } else if (active.count() > 0 && (long) active.endOffset() + recordBytes > options.segmentSizeBytes()) {
            roll(e.index());
        }
        int offset = active.endOffset();
        RecordFormat.encodeHeader(e, durableIndex, header, crc);
        boolean writtenThrough = false;
        if (recordBytes > buffer.remaining()) {
            flush();
        }
        if (recordBytes <= buffer.remaining()) {
            buffer.put(header.array(), 0, RecordFormat.HEADER_BYTES).put(e.data());
            lastBufferedIndex = e.index();
        } else {
            // Larger than the whole buffer: straight to the file, without copying the payload into it.
            ensureAllocated(written + recordBytes, recordBytes);
            StorageFiles.writeFully(active.channel, header, written);
            StorageFiles.writeFully(active.channel, ByteBuffer.wrap(e.data()), written + RecordFormat.HEADER_BYTES);
            written += recordBytes;
            unsynced.add(active);
            writtenThrough = true;
        }
        index.appended(active, offset, offset + recordBytes, e);
        if (writtenThrough) {
            index.flushed(e.index());
        }
    }

    /** Hands the buffer to the active segment's file. */
    private void flush() throws IOException {
        if (buffer == null || buffer.position() == 0) {
            return;
        }
        buffer.flip();
        int n = buffer.remaining();
        ensureAllocated(written + n, n);
        StorageFiles.writeFully(active.channel, buffer, written);
        written += n;
        buffer.clear();
        unsynced.add(active);
        index.flushed(lastBufferedIndex);
    }

    /**
     * Makes the file at least {@code upTo} bytes long before a write of {@code writeBytes} ending
     * there. With preallocation, and for writes smaller than {@link #LARGE_WRITE_BYTES}, it grows in
     * steps of {@code preallocateBytes} of zeros, so most syncs overwrite space the file already has
     * and the force need not update the file's size (measured: about half the cost of a small force
     * that grows the file, docs/BENCHMARKS.md). Recovery reads trailing zeros as the end of the log.
     */
    private void ensureAllocated(long upTo, int writeBytes) throws IOException {
        if (upTo <= allocated) {
            return;
        }
        long step = options.preallocateBytes();
        if (step == 0 || writeBytes >= LARGE_WRITE_BYTES) {
            allocated = upTo;
            return;
        }
        long target = Math.max(upTo, Math.min(((upTo + step - 1) / step) * step, options.segmentSizeBytes()));
        if (zeros == null) {
            zeros = ByteBuffer.allocateDirect(ZERO_CHUNK_BYTES);
        }
        // Only past upTo: the data about to be written covers the rest.
        for (long at = upTo; at < target; ) {
            zeros.clear().limit((int) Math.min(ZERO_CHUNK_BYTES, target - at));
            int n = zeros.remaining();
            StorageFiles.writeFully(active.channel, zeros, at);
            at += n;
        }
        allocated = target;
    }

    private void roll(long firstIndex) throws IOException {
        flush();
        // The sealed segment's records and its own directory entry become durable before the next
        // segment exists. Otherwise a power loss could keep the new segment and lose the old one's
        // unsynced tail: a gap between the two, which recovery must refuse. So only the last segment
        // ever holds records that were never forced.
        force(active.channel, false);
        unsynced.remove(active);
        if (directoryUnsynced) {
            forceDirectory();
        }
        active.seal();
        openSegment(firstIndex);
    }

    private void openSegment(long firstIndex) throws IOException {
        Path file = dir.resolve(Segment.fileName(firstIndex));
        FileChannel channel = options.channelFactory().open(file,
                Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE));
        directoryUnsynced = true;
        active = new Segment(file, firstIndex, channel, new int[64], 0, 0);
        written = 0;
        allocated = 0;
        index.addSegment(active);
    }

    private void force(FileChannel channel, boolean metadata) throws IOException {
        if (options.syncPolicy() == SyncPolicy.ALWAYS) {
            channel.force(metadata);
        }
    }

    private void forceDirectory() throws IOException {
        if (options.syncPolicy() == SyncPolicy.ALWAYS) {
            StorageFiles.fsyncDirectory(dir, options.channelFactory());
        }
        directoryUnsynced = false;
    }

    private void checkHealthy() {
        Throwable f = failure;
        if (f != null) {
            throw new StorageFailedException(dir + " failed earlier and takes no more writes: " + f, f);
        }
    }

    private StorageFailedException fail(String what, IOException e) {
        failure = e;
        LOG.error("{}: {} failed; the log takes no more writes (fail-stop)", dir, what, e);
        return new StorageFailedException(what + " failed: " + e, e);
    }
}
