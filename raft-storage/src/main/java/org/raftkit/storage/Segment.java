package org.raftkit.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One segment file: the records of consecutive indexes from {@link #firstIndex}, and where each
 * record starts in the file.
 *
 * <p>The offsets take 4 bytes per entry (a segment is at most 1 GiB, see
 * {@link SegmentedLogStorage.Options}); terms are kept apart, as runs ({@link TermRuns}).
 *
 * <p>Threads: the offsets, {@link #count()} and {@link #endOffset()} are written by the storage
 * thread and read by the Raft thread, both only while holding the {@link LogIndex} monitor. The
 * channel is shared: the storage thread writes at the end, readers use positional reads.
 */
final class Segment {

    private static final String SUFFIX = ".log";
    private static final int NAME_DIGITS = 20;

    final Path file;
    final long firstIndex;
    final FileChannel channel;
    /** offsets[i] = start of the record of index firstIndex + i. Invariant: strictly increasing. */
    private int[] offsets;
    /** Records held. Invariant: 0 <= count <= offsets.length. */
    private int count;
    /** End of the last record (0 when empty): where the next record goes. */
    private int endOffset;

    Segment(Path file, long firstIndex, FileChannel channel, int[] offsets, int count, int endOffset) {
        this.file = file;
        this.firstIndex = firstIndex;
        this.channel = channel;
        this.offsets = offsets;
        this.count = count;
        this.endOffset = endOffset;
    }

    /** The file name of the segment whose first index is {@code firstIndex}: 20 digits and ".log". */
    static String fileName(long firstIndex) {
        String digits = Long.toString(firstIndex);
        return "0".repeat(NAME_DIGITS - digits.length()) + digits + SUFFIX;
    }

    /** The first index a segment file name stands for, or -1 if it is not a segment's name. */
    static long parseFileName(String name) {
        if (name.length() != NAME_DIGITS + SUFFIX.length() || !name.endsWith(SUFFIX)) {
            return -1;
        }
        for (int i = 0; i < NAME_DIGITS; i++) {
            if (!Character.isDigit(name.charAt(i))) {
                return -1;
            }
        }
        try {
            long index = Long.parseLong(name.substring(0, NAME_DIGITS));
            return index >= 1 ? index : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    int count() {
        return count;
    }

    /** Index of the last record, firstIndex - 1 when empty. */
    long lastIndex() {
        return firstIndex + count - 1;
    }

    int endOffset() {
        return endOffset;
    }

    /** Start of the record of {@code index}, which this segment holds. */
    int offset(long index) {
        return offsets[(int) (index - firstIndex)];
    }

    /** End (exclusive) of the record of {@code index}, which this segment holds. */
    int recordEnd(long index) {
        int i = (int) (index - firstIndex);
        return i + 1 < count ? offsets[i + 1] : endOffset;
    }

    /** Adds the next record, which occupies [offset, end). */
    void add(int offset, int end) {
        if (count == offsets.length) {
            offsets = Arrays.copyOf(offsets, Math.max(64, count * 2));
        }
        offsets[count++] = offset;
        endOffset = end;
    }

    /** Forgets the records from {@code index} on; the next record goes where that one started. */
    void truncateFrom(long index) {
        int keep = (int) (index - firstIndex);
        if (keep < count) {
            endOffset = offsets[keep];
            count = keep;
        }
    }

    /** Gives back the spare room of the offsets array once no more records will be added. */
    void seal() {
        if (offsets.length != count) {
            offsets = Arrays.copyOf(offsets, count);
        }
    }

    /** Heap bytes of the offsets array, for the memory figures. */
    long indexBytes() {
        return 16L + 4L * offsets.length;
    }

    void closeChannel() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return file.getFileName() + "[" + firstIndex + ".." + lastIndex() + "]";
    }
}
