package org.raftkit.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * A small file that is only ever replaced whole: written to {@code <name>.tmp}, forced, renamed
 * over {@code <name>}, and the directory forced. After a crash the file holds either the old or
 * the new content, never a mix. Its own checksum catches damage from outside. Layout
 * (big-endian): magic (4 bytes), payload length (4), payload, CRC32C of everything before (4).
 *
 * <p>Used by {@link FileTermVoteStore} and for the log's start ({@link LogStart}). Not
 * thread-safe; each owner calls it from one thread at a time. Every method blocks.
 */
final class AtomicFile {

    private static final int FRAME_BYTES = 12;

    private final Path dir;
    private final Path file;
    private final Path temp;
    private final int magic;
    private final FileChannelFactory channels;

    AtomicFile(Path dir, String name, int magic, FileChannelFactory channels) {
        this.dir = dir;
        this.file = dir.resolve(name);
        this.temp = dir.resolve(name + ".tmp");
        this.magic = magic;
        this.channels = channels;
    }

    Path file() {
        return file;
    }

    /**
     * The payload, or null if the file does not exist. A leftover temporary file (a crash before
     * the rename) is deleted: its write never completed, so it never counted.
     *
     * @throws CorruptStorageException if the file exists but fails its checks
     */
    byte[] read() throws IOException {
        if (Files.exists(temp)) {
            channels.delete(temp);
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (bytes.length < FRAME_BYTES) {
            throw new CorruptStorageException(file, 0, CorruptStorageException.NO_INDEX,
                    "only " + bytes.length + " bytes, less than the " + FRAME_BYTES + "-byte frame");
        }
        if (b.getInt(0) != magic) {
            throw new CorruptStorageException(file, 0, CorruptStorageException.NO_INDEX,
                    String.format("magic is 0x%08x, expected 0x%08x", b.getInt(0), magic));
        }
        int length = b.getInt(4);
        if (length != bytes.length - FRAME_BYTES) {
            throw new CorruptStorageException(file, 4, CorruptStorageException.NO_INDEX,
                    "payload length field says " + length + " but the file holds " + (bytes.length - FRAME_BYTES));
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        if ((int) crc.getValue() != b.getInt(bytes.length - 4)) {
            throw new CorruptStorageException(file, bytes.length - 4L, CorruptStorageException.NO_INDEX,
                    "checksum mismatch");
        }
        byte[] payload = new byte[length];
        System.arraycopy(bytes, 8, payload, 0, length);
        return payload;
    }

    /** Replaces the content with {@code payload}, durably, when it returns. */
    void write(byte[] payload) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(payload.length + FRAME_BYTES);
        b.putInt(magic).putInt(payload.length).put(payload);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue()).flip();
        try (FileChannel ch = channels.open(temp, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING))) {
            StorageFiles.writeFully(ch, b, 0);
            ch.force(true);
        }
        channels.replace(temp, file);
        StorageFiles.fsyncDirectory(dir, channels);
    }
}
