package org.raftkit.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Where the log starts once a prefix has been compacted away: the first index and the term of the
 * entry before it (which {@code term(firstIndex - 1)} must still answer). Kept in the file
 * {@code log-start}; absent while the log still starts at index 1.
 *
 * @param firstIndex      the first index the log holds
 * @param termBeforeFirst term of {@code firstIndex - 1}
 */
record LogStart(long firstIndex, long termBeforeFirst) {

    static final String FILE_NAME = "log-start";
    private static final int MAGIC = 0x524b4c53; // "RKLS"

    /** The saved start, or null if the log was never compacted. Called once, when opening. */
    static LogStart read(Path dir, FileChannelFactory channels) throws IOException {
        AtomicFile f = new AtomicFile(dir, FILE_NAME, MAGIC, channels);
        byte[] payload = f.read();
        if (payload == null) {
            return null;
        }
        if (payload.length != 16) {
            throw new CorruptStorageException(f.file(), 8, CorruptStorageException.NO_INDEX,
                    "payload of " + payload.length + " bytes, expected 16");
        }
        ByteBuffer b = ByteBuffer.wrap(payload);
        long first = b.getLong();
        long term = b.getLong();
        if (first < 1 || term < 0) {
            throw new CorruptStorageException(f.file(), 8, CorruptStorageException.NO_INDEX,
                    "first index " + first + ", term " + term);
        }
        return new LogStart(first, term);
    }

    /** Saves this start durably; storage thread, before the segments it makes obsolete are deleted. */
    void write(Path dir, FileChannelFactory channels) throws IOException {
        byte[] payload = ByteBuffer.allocate(16).putLong(firstIndex).putLong(termBeforeFirst).array();
        new AtomicFile(dir, FILE_NAME, MAGIC, channels).write(payload);
    }
}
