package org.raftkit.storage;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/** File operations the log and the term/vote store share. Called on the thread doing the I/O; all block. */
final class StorageFiles {

    private StorageFiles() {
    }

    /**
     * Forces the directory itself, so that a file created, renamed or deleted in it stays so after
     * a crash (the file's own force does not cover its directory entry).
     */
    static void fsyncDirectory(Path dir, FileChannelFactory channels) throws IOException {
        try (FileChannel d = channels.open(dir, Set.of(StandardOpenOption.READ))) {
            d.force(true);
        }
    }

    /**
     * Takes the exclusive lock on {@code dir/name} (created if missing), so no second process, and no
     * second opener in this process, uses the same files.
     *
     * @return the channel holding the lock; closing it releases the lock
     * @throws IOException naming the lock file if someone else holds it
     */
    static FileChannel lock(Path dir, String name, String what) throws IOException {
        Files.createDirectories(dir);
        Path lockFile = dir.resolve(name);
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        if (lock == null) {
            channel.close();
            throw new IOException(what + " in " + dir + " is already open (" + lockFile
                    + " is locked by this or another process)");
        }
        return channel;
    }

    /** Writes all of {@code buffer} at {@code position}. */
    static void writeFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            at += channel.write(buffer, at);
        }
    }

    /** Fills {@code buffer} from {@code position}; a file that ends first is an error. */
    static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, at);
            if (n < 0) {
                throw new EOFException("end of file at offset " + at + " while reading " + buffer.remaining()
                        + " more bytes from offset " + position);
            }
            at += n;
        }
    }
}
