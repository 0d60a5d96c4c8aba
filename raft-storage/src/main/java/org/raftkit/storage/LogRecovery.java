package org.raftkit.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the segment files of a log directory and rebuilds the in-memory index, checking every
 * record (docs/STORAGE.md, "Recovery").
 *
 * <p>The rules, which tell a crash from damage:
 * <ul>
 *   <li>Every record of every segment is read and its checksum checked; indexes run on without a
 *       gap from the log's first index; each segment's name is the index of its first record.</li>
 *   <li>The log ends at the first byte offset that does not hold a valid record. If only zeros
 *       follow (preallocated space), that is simply the end.</li>
 *   <li>If other bytes follow, they are a torn or lost write (a crash while writing records that
 *       were never synced: pages reach the disk in any order, so a later one may have made it and
 *       an earlier one not) <em>unless a valid record anywhere after that point, in that segment or
 *       a later one, says in its header that the bad record's index was already durable when it
 *       was written</em>. Then they are cut off, with any later segments, and logged with file and
 *       offset. With such a witness the bad record had been synced and was damaged since: opening
 *       refuses, naming file, offset and index.</li>
 *   <li>A valid record with the wrong index, a segment whose name does not continue the log, or a
 *       log that does not start where {@code log-start} says, is damage too.</li>
 * </ul>
 * Damage to the records of the last sync, with nothing written after them, looks exactly like a
 * write lost in a crash and is cut off the same way; nothing on disk can tell them apart.
 *
 * <p>Nothing is changed on disk until every check has passed: a refused open leaves the files as
 * they were. A repair deletes later segments before it cuts, each deletion durable before the
 * next step, so a crash during it leaves a log the next open repairs the same way. At the end the
 * last segment and the directory are forced (under {@link SyncPolicy#ALWAYS}). Runs on the thread
 * that opens the storage; blocks.
 */
final class LogRecovery {

    private static final Logger LOG = LoggerFactory.getLogger(LogRecovery.class);

    /** The recovered log; the segments' channels are open. */
    record Result(List<Segment> segments, TermRuns terms, long firstIndex, long lastIndex, long termBeforeFirst,
                  long lastSegmentFileBytes) {
    }

    /** A segment file found in the directory. */
    private record SegmentFile(Path path, long firstIndex) {
    }

    private final Path dir;
    private final FileChannelFactory channels;
    /** Whether repairs are forced to disk; not under {@link SyncPolicy#NEVER}, which forces nothing. */
    private final boolean forceRepairs;
    private final List<FileChannel> opened = new ArrayList<>();

    private LogRecovery(Path dir, SegmentedLogStorage.Options options) {
        this.dir = dir;
        this.channels = options.channelFactory();
        this.forceRepairs = options.syncPolicy() == SyncPolicy.ALWAYS;
    }

    /** Recovers the log in {@code dir}; see the class comment for what is checked and repaired. */
    static Result recover(Path dir, SegmentedLogStorage.Options options) throws IOException {
        LogRecovery recovery = new LogRecovery(dir, options);
        try {
            return recovery.run();
        } catch (IOException | RuntimeException e) {
            for (FileChannel c : recovery.opened) {
                try {
                    c.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private Result run() throws IOException {
        LogStart start = LogStart.read(dir, channels);
        List<SegmentFile> files = listSegments();
        List<SegmentFile> obsolete = new ArrayList<>();
        if (start != null) {
            // A compaction saved log-start, then crashed before deleting every segment it replaced.
            while (files.size() > 1 && files.get(1).firstIndex() <= start.firstIndex()) {
                obsolete.add(files.remove(0));
            }
        }
        long firstIndex = start != null ? start.firstIndex() : 1;
        long termBeforeFirst = start != null ? start.termBeforeFirst() : 0;

        TermRuns terms = new TermRuns();
        List<Segment> segments = new ArrayList<>();
        long expected = firstIndex;
        long tornOffset = -1;
        RecordScanner tornScanner = null;
        for (SegmentFile f : files) {
            if (f.firstIndex() != expected) {
                throw new CorruptStorageException(f.path(), 0, expected, segments.isEmpty()
                        ? "the log starts at index " + firstIndex + (start == null ? " (no " + LogStart.FILE_NAME
                        + " file)" : " (" + LogStart.FILE_NAME + ")") + " but its first segment at " + f.firstIndex()
                        : "segment starts at index " + f.firstIndex() + " but the segment before ends at "
                        + (expected - 1));
            }
            FileChannel channel = open(f.path());
            RecordScanner scanner = new RecordScanner(channel);
            int[] offsets = new int[64];
            int count = 0;
            long offset = 0;
            for (int bytes; (bytes = scanner.recordAt(offset)) > 0; offset += bytes) {
                long index = scanner.index(offset);
                if (index != expected) {
                    throw new CorruptStorageException(f.path(), offset, expected, "a valid record holds index " + index
                            + (index < expected ? " (not increasing)" : " (a gap)"));
                }
                if (count == offsets.length) {
                    offsets = Arrays.copyOf(offsets, count * 2);
                }
                offsets[count++] = (int) offset;
                terms.append(index, scanner.term(offset));
                expected++;
            }
            segments.add(new Segment(f.path(), f.firstIndex(), channel, offsets, count, (int) offset));
            if (offset < scanner.fileSize() && !scanner.zerosFrom(offset)) {
                tornOffset = offset;
                tornScanner = scanner;
                break;
            }
        }
        if (tornOffset >= 0) {
            repairTornTail(files, segments, tornScanner, tornOffset, expected);
        }
        for (Segment s : segments) {
            if (s != segments.get(segments.size() - 1)) {
                s.seal();
            }
        }
        deleteObsolete(obsolete);
        forceLastSegment(segments);
        long lastFileBytes = segments.isEmpty() ? 0 : segments.get(segments.size() - 1).channel.size();
        return new Result(segments, terms, firstIndex, expected - 1, termBeforeFirst, lastFileBytes);
    }

    /**
     * The last segment scanned has bytes at {@code tornOffset} that are neither a record nor zeros.
     * Refuses if a valid later record, anywhere after, says index {@code expected} was already
     * durable when it was written; otherwise cuts the bytes off, with any later segments (whose
     * records, if any, were never synced either).
     */
    private void repairTornTail(List<SegmentFile> files, List<Segment> segments, RecordScanner tornScanner,
                                long tornOffset, long expected) throws IOException {
        Segment torn = segments.get(segments.size() - 1);
        List<SegmentFile> later = files.subList(segments.size(), files.size());
        long bytesAfter = torn.channel.size() - tornOffset;
        List<FileChannel> laterChannels = new ArrayList<>();
        for (SegmentFile f : later) {
            FileChannel c = open(f.path());
            laterChannels.add(c);
            bytesAfter += c.size();
        }
        // A later record's index is at most one per header's worth of bytes beyond the last good one.
        long maxIndex = expected - 1 + bytesAfter / RecordFormat.HEADER_BYTES + 1;
        long found = findWitness(tornScanner, tornOffset + 1, expected, maxIndex);
        Path foundIn = torn.file;
        RecordScanner foundBy = tornScanner;
        for (int i = 0; found < 0 && i < later.size(); i++) {
            foundBy = new RecordScanner(laterChannels.get(i));
            found = findWitness(foundBy, 0, expected, maxIndex);
            foundIn = later.get(i).path();
        }
        if (found >= 0) {
            throw new CorruptStorageException(torn.file, tornOffset, expected, "not a valid record, yet the valid record"
                    + " of index " + foundBy.index(found) + " at " + foundIn.getFileName() + " offset " + found
                    + " was written when index " + foundBy.durableIndex(found) + " was already durable:"
                    + " damage to synced records, not a write lost in a crash");
        }
        LOG.warn("{}: torn or lost write at offset {}: cutting off {} bytes after index {}, and {} later segments"
                + " (never acknowledged as synced, unless the disk itself damaged the last synced records)",
                torn.file, tornOffset, torn.channel.size() - tornOffset, expected - 1, later.size());
        // Later segments first, newest first, each unlink durable before the next and before the cut: a
        // crash during the repair then leaves the same torn tail with fewer later segments, which the
        // next open repairs the same way. Cutting first, a lost unlink would leave a gap behind the cut.
        for (int i = later.size() - 1; i >= 0; i--) {
            LOG.warn("{}: holds no synced record after the torn write; deleting it", later.get(i).path());
            laterChannels.get(i).close();
            channels.delete(later.get(i).path());
            if (forceRepairs) {
                StorageFiles.fsyncDirectory(dir, channels);
            }
        }
        // Made durable by forceLastSegment at the end of the open: this is the last segment now.
        torn.channel.truncate(tornOffset);
    }

    /**
     * Offset of the first valid record at or after {@code from} whose index lies in
     * [{@code expected}, {@code maxIndex}] and whose durable index is at least {@code expected}: a
     * witness that the record of {@code expected} had been synced before. -1 if there is none.
     */
    private static long findWitness(RecordScanner scanner, long from, long expected, long maxIndex) throws IOException {
        for (long at = scanner.findRecord(from, expected - 1, maxIndex); at >= 0;
             at = scanner.findRecord(at + 1, expected - 1, maxIndex)) {
            if (scanner.durableIndex(at) >= expected) {
                return at;
            }
        }
        return -1;
    }

    private void deleteObsolete(List<SegmentFile> obsolete) throws IOException {
        for (SegmentFile f : obsolete) {
            LOG.info("{}: before the log's start ({}); finishing an interrupted compaction", f.path(),
                    LogStart.FILE_NAME);
            channels.delete(f.path());
        }
        if (!obsolete.isEmpty() && forceRepairs) {
            StorageFiles.fsyncDirectory(dir, channels);
        }
    }

    /**
     * Makes every recovered record, and a repair's cut, durable, so the writer may start from
     * "everything up to the last index is durable" (it writes that into its records' headers).
     * Only the last segment can hold records never forced: every earlier one was forced before
     * the next was created. After a process crash its unsynced records are still in the page cache
     * and were read back; a power loss after this open must not lose them while later records
     * vouch for them. The directory too: the last segment's own entry may never have been forced,
     * and the writer will not know to force it before it creates the next. {@code force(true)}: a
     * cut is a change of size.
     */
    private void forceLastSegment(List<Segment> segments) throws IOException {
        if (!forceRepairs || segments.isEmpty()) {
            return;
        }
        segments.get(segments.size() - 1).channel.force(true);
        StorageFiles.fsyncDirectory(dir, channels);
    }

    private FileChannel open(Path file) throws IOException {
        FileChannel c = channels.open(file, Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
        opened.add(c);
        return c;
    }

    private List<SegmentFile> listSegments() throws IOException {
        List<SegmentFile> files = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*.log")) {
            for (Path p : stream) {
                long first = Segment.parseFileName(p.getFileName().toString());
                if (first > 0) {
                    files.add(new SegmentFile(p, first));
                }
            }
        }
        files.sort((a, b) -> Long.compare(a.firstIndex(), b.firstIndex()));
        return files;
    }
}
