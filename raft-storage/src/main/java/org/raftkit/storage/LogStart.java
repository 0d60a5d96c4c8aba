package org.raftkit.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Where the log starts once a prefix has been compacted away, or once the log was reset to a
 * snapshot: the first index and the term of the entry before it (which {@code term(firstIndex - 1)}
 * must still answer). Kept in the file {@code log-start}; absent while the log still starts at
 * index 1.
 *
 * <p>The payload is the first index (8 bytes) and the term before it (8). A reset in progress
 * adds one byte, 1: {@link #resetInProgress} (docs/STORAGE.md, "Reset"). A start without it is
 * byte for byte what compaction has always written.
 *
 * @param firstIndex      the first index the log holds
 * @param termBeforeFirst term of {@code firstIndex - 1}
 * @param resetInProgress a reset saved this start and may not yet have deleted every segment: every
 *                        segment file in the directory is from before the reset, whatever its
 *                        name, and is garbage. Never true once a segment of the new log exists
 */
record LogStart(long firstIndex, long termBeforeFirst, boolean resetInProgress) {

    static final String FILE_NAME = "log-start";
    private static final int MAGIC = 0x524b4c53; // "RKLS"
    private static final int PAYLOAD_BYTES = 16;
    private static final byte RESET_IN_PROGRESS = 1;

    /** A settled start: the segments from {@code firstIndex} on are the log. */
    LogStart(long firstIndex, long termBeforeFirst) {
        this(firstIndex, termBeforeFirst, false);
    }

    /** The saved start, or null if the log was never compacted or reset. Called once, when opening. */
    static LogStart read(Path dir, FileChannelFactory channels) throws IOException {
        AtomicFile f = new AtomicFile(dir, FILE_NAME, MAGIC, channels);
        byte[] payload = f.read();
        if (payload == null) {
            return null;
        }
        boolean reset = payload.length == PAYLOAD_BYTES + 1 && payload[PAYLOAD_BYTES] == RESET_IN_PROGRESS;
        if (payload.length != PAYLOAD_BYTES && !reset) {
            throw new CorruptStorageException(f.file(), 8, CorruptStorageException.NO_INDEX,
                    "payload of " + payload.length + " bytes" + (payload.length == PAYLOAD_BYTES + 1
                    ? " with flag " + payload[PAYLOAD_BYTES] : "") + ", expected " + PAYLOAD_BYTES
                    + ", or " + (PAYLOAD_BYTES + 1) + " with flag " + RESET_IN_PROGRESS);
        }
        ByteBuffer b = ByteBuffer.wrap(payload);
        long first = b.getLong();
        long term = b.getLong();
        if (first < 1 || term < 0) {
            throw new CorruptStorageException(f.file(), 8, CorruptStorageException.NO_INDEX,
                    "first index " + first + ", term " + term);
        }
        return new LogStart(first, term, reset);
    }

    /**
     * Saves this start durably (temporary file, force, rename, directory force; see
     * {@link AtomicFile}). Storage thread, or recovery: before the segments it makes obsolete are
     * deleted.
     */
    void write(Path dir, FileChannelFactory channels) throws IOException {
        ByteBuffer payload = ByteBuffer.allocate(PAYLOAD_BYTES + (resetInProgress ? 1 : 0))
                .putLong(firstIndex).putLong(termBeforeFirst);
        if (resetInProgress) {
            payload.put(RESET_IN_PROGRESS);
        }
        new AtomicFile(dir, FILE_NAME, MAGIC, channels).write(payload.array());
    }
}
