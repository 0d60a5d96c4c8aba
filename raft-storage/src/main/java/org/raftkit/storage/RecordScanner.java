package org.raftkit.storage;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * Reads a segment file front to back through a window of bytes, for recovery: the records in it,
 * whether what follows them is only zeros, and whether any valid record hides in bytes that are
 * not a record. Reads each byte of the file from disk about once (the window slides).
 *
 * <p>Used by one thread, the one opening the storage.
 */
final class RecordScanner {

    private static final int WINDOW_BYTES = 256 << 10;
    private static final byte[] ZEROS = new byte[WINDOW_BYTES];
    private static final VarHandle BIG_ENDIAN_LONG =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private final FileChannel channel;
    private final long fileSize;
    private final CRC32C crc = new CRC32C();
    /** Grown on demand: most segments opened in tests are small, and a record may be larger. */
    private ByteBuffer window = ByteBuffer.allocate(0);
    /** File offset of window[0]. */
    private long windowStart;
    private int windowLength;

    RecordScanner(FileChannel channel) throws IOException {
        this.channel = channel;
        this.fileSize = channel.size();
    }

    long fileSize() {
        return fileSize;
    }

    /** Bytes of the valid record at {@code offset}, or -1 if what is there is not one (torn, zeros, garbage). */
    int recordAt(long offset) throws IOException {
        if (!load(offset, RecordFormat.HEADER_BYTES)
                || !RecordFormat.plausibleHeader(window, at(offset), fileSize - offset)) {
            return -1;
        }
        int recordBytes = RecordFormat.HEADER_BYTES + RecordFormat.payloadLength(window, at(offset));
        if (!load(offset, recordBytes) || !RecordFormat.checksumMatches(window, at(offset), crc)) {
            return -1;
        }
        return recordBytes;
    }

    /** Index of the record at {@code offset}, just checked by {@link #recordAt}. */
    long index(long offset) {
        return RecordFormat.index(window, at(offset));
    }

    /** Term of the record at {@code offset}, just checked by {@link #recordAt}. */
    long term(long offset) {
        return RecordFormat.term(window, at(offset));
    }

    /** Durable-index field of the record at {@code offset}, just checked by {@link #recordAt}. */
    long durableIndex(long offset) {
        return RecordFormat.durableIndex(window, at(offset));
    }

    /** Whether every byte from {@code offset} to the end of the file is zero (preallocated, never written). */
    boolean zerosFrom(long offset) throws IOException {
        for (long at = offset; at < fileSize; ) {
            int n = (int) Math.min(WINDOW_BYTES, fileSize - at);
            load(at, n);
            int from = at(at);
            if (Arrays.mismatch(window.array(), from, from + n, ZEROS, 0, n) >= 0) {
                return false;
            }
            at += n;
        }
        return true;
    }

    /**
     * The offset of the first valid record at or after {@code offset} whose index lies in
     * ({@code afterIndex}, {@code maxIndex}], or -1. Tries every byte offset: after a damaged
     * record nothing says where the next one starts. The index range keeps the checksum work to
     * real candidates (random bytes almost never fall in it).
     */
    long findRecord(long offset, long afterIndex, long maxIndex) throws IOException {
        boolean smallIndexes = maxIndex < (1L << 56);
        long from = offset;
        scan:
        while (from + RecordFormat.HEADER_BYTES <= fileSize) {
            load(from, (int) Math.min(WINDOW_BYTES, fileSize - from));
            byte[] a = window.array();
            int last = windowLength - RecordFormat.HEADER_BYTES; // last window position a header fits at
            // This loop runs once per byte of a torn region, so it reads the array directly and filters
            // on one byte first: a wanted index (at most maxIndex, far below 2^56) has a zero top byte.
            for (int p = at(from); p <= last; p++) {
                if (smallIndexes && a[p + RecordFormat.INDEX_OFFSET] != 0) {
                    continue;
                }
                long index = (long) BIG_ENDIAN_LONG.get(a, p + RecordFormat.INDEX_OFFSET);
                if (index == 0) {
                    // A run of zeros (preallocated space) cannot hold a wanted index: jump to the last
                    // header position whose index field still reaches the next non-zero byte.
                    p = Math.max(p, nextNonZero(a, p + RecordFormat.INDEX_OFFSET) - RecordFormat.INDEX_OFFSET - 8);
                    continue;
                }
                if (index > afterIndex && index <= maxIndex) {
                    long candidate = windowStart + p;
                    if (recordAt(candidate) > 0) {
                        return candidate;
                    }
                    from = candidate + 1; // recordAt may have moved the window
                    continue scan;
                }
            }
            from = windowStart + last + 1;
        }
        return -1;
    }

    /** Position of the first non-zero byte at or after {@code from} in the window, or the window's end. */
    private int nextNonZero(byte[] a, int from) {
        int at = from;
        while (at < windowLength) {
            int n = Math.min(windowLength - at, ZEROS.length);
            int m = Arrays.mismatch(a, at, at + n, ZEROS, 0, n);
            if (m >= 0) {
                return at + m;
            }
            at += n;
        }
        return windowLength;
    }

    /** Makes [offset, offset + length) readable in the window; false if the file ends first. */
    private boolean load(long offset, int length) throws IOException {
        if (offset + length > fileSize) {
            return false;
        }
        if (offset >= windowStart && offset + length <= windowStart + windowLength) {
            return true;
        }
        int want = (int) Math.min(Math.max(length, WINDOW_BYTES), fileSize - offset);
        if (want > window.capacity()) {
            window = ByteBuffer.allocate(want);
        }
        window.clear().limit(want);
        StorageFiles.readFully(channel, window, offset);
        windowStart = offset;
        windowLength = want;
        return true;
    }

    private int at(long offset) {
        return (int) (offset - windowStart);
    }
}
