package org.raftkit.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.raftkit.spi.IdentityStore;

/**
 * The cluster id and node id a data directory belongs to, in the file {@code dir/identity}, next
 * to {@code term-vote} and written the same way: to {@code identity.tmp}, forced, renamed, and the
 * directory forced, inside a CRC32C frame (docs/STORAGE.md). Written once, when the node
 * bootstraps or first joins; read at every start.
 *
 * <p>Payload (big-endian): cluster id (2-byte UTF-8 length, bytes), node id (same).
 *
 * <p>Threads: everything on the thread that builds the server; blocks.
 */
public final class FileIdentityStore implements IdentityStore {

    /** The file's name inside the directory. */
    public static final String FILE_NAME = "identity";
    private static final int MAGIC = 0x524b4944; // "RKID"

    private final AtomicFile file;
    private volatile Identity identity;

    private FileIdentityStore(AtomicFile file, Identity identity) {
        this.file = file;
        this.identity = identity;
    }

    /**
     * Opens the record in {@code dir} (creating the directory if needed) and reads it.
     *
     * @throws CorruptStorageException if the file exists but is damaged (named, with the offset)
     * @throws IOException             if it cannot be read
     */
    public static FileIdentityStore open(Path dir) throws IOException {
        java.nio.file.Files.createDirectories(dir);
        AtomicFile file = new AtomicFile(dir, FILE_NAME, MAGIC, FileChannelFactory.DEFAULT);
        byte[] payload = file.read();
        return new FileIdentityStore(file, payload == null ? null : decode(file.file(), payload));
    }

    @Override
    public Identity load() {
        return identity;
    }

    /** Durable and atomic when it returns. */
    @Override
    public void save(Identity newIdentity) {
        try {
            file.write(encode(newIdentity));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record " + newIdentity + " in " + file.file() + ": " + e.getMessage(), e);
        }
        identity = newIdentity;
    }

    @Override
    public void close() {
        // holds no file open
    }

    private static byte[] encode(Identity id) {
        byte[] cluster = id.clusterId().getBytes(StandardCharsets.UTF_8);
        byte[] node = id.nodeId().getBytes(StandardCharsets.UTF_8);
        if (cluster.length > 0xffff || node.length > 0xffff) {
            throw new IllegalArgumentException("cluster id or node id longer than 65535 UTF-8 bytes");
        }
        return ByteBuffer.allocate(4 + cluster.length + node.length)
                .putShort((short) cluster.length).put(cluster).putShort((short) node.length).put(node).array();
    }

    private static Identity decode(Path path, byte[] payload) throws CorruptStorageException {
        try {
            ByteBuffer b = ByteBuffer.wrap(payload);
            byte[] cluster = new byte[Short.toUnsignedInt(b.getShort())];
            b.get(cluster);
            byte[] node = new byte[Short.toUnsignedInt(b.getShort())];
            b.get(node);
            if (b.hasRemaining()) {
                throw new CorruptStorageException(path, 8 + b.position(), CorruptStorageException.NO_INDEX,
                        b.remaining() + " bytes after the node id");
            }
            return new Identity(new String(cluster, StandardCharsets.UTF_8), new String(node, StandardCharsets.UTF_8));
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
            throw new CorruptStorageException(path, 8, CorruptStorageException.NO_INDEX,
                    "the identity record does not parse: " + e);
        }
    }

    @Override
    public String toString() {
        return "FileIdentityStore{" + file.file() + ", " + identity + "}";
    }
}
