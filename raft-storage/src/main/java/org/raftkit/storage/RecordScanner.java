package org.raftkit.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
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

    private static final int WINDOW_BYTES = 1 << 20;
    private static final byte[] ZEROS = new byte[WINDOW_BYTES];

    private final FileChannel channel;
    private final long fileSize;
    private final CRC32C crc = new CRC32C();
    private ByteBuffer window = ByteBuffer.allocate(WINDOW_BYTES);
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
        for (long at = offset; at + RecordFormat.HEADER_BYTES <= fileSize; at++) {
            load(at, RecordFormat.HEADER_BYTES);
            long index = RecordFormat.index(window, at(at));
            if (index > afterIndex && index <= maxIndex && recordAt(at) > 0) {
                return at;
            }
        }
        return -1;
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
