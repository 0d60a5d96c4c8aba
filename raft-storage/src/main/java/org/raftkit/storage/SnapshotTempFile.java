package org.raftkit.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A snapshot file under its temporary name ({@code *.tmp}), written at its end. The first failed
 * write discards it (closes and deletes it) so that a full disk leaves nothing behind, and every
 * later call throws. Used by one thread at a time (the snapshot loop); every method blocks.
 */
final class SnapshotTempFile {

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotTempFile.class);

    private final Path path;
    private final FileChannel channel;
    private long size;
    /** Why the file is gone: discarded after a failure, published (renamed away) or closed. */
    private String gone;

    private SnapshotTempFile(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /** Creates (or empties a leftover) {@code path}. */
    static SnapshotTempFile create(Path path, FileChannelFactory channels) throws IOException {
        return new SnapshotTempFile(path, channels.open(path, Set.of(StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE, StandardOpenOption.READ)));
    }

    Path path() {
        return path;
    }

    /** Bytes written so far. */
    long size() {
        return size;
    }

    /** The channel, for reading the file back before it is published. */
    FileChannel channel() throws IOException {
        checkLive();
        return channel;
    }

    /** Appends all of {@code bytes}; a failure discards the file and is rethrown. */
    void append(ByteBuffer bytes) throws IOException {
        checkLive();
        int n = bytes.remaining();
        try {
            StorageFiles.writeFully(channel, bytes, size);
        } catch (IOException e) {
            discard("writing failed: " + e.getMessage());
            throw new IOException("writing " + path + " failed: " + e.getMessage(), e);
        }
        size += n;
    }

    /**
     * Forces (if {@code force}) and closes the file, ready for the rename that publishes it. A
     * failure discards the file and is rethrown.
     */
    void finish(boolean force) throws IOException {
        checkLive();
        try {
            if (force) {
                channel.force(true);
            }
            channel.close();
        } catch (IOException e) {
            discard("forcing failed: " + e.getMessage());
            throw new IOException("forcing " + path + " failed: " + e.getMessage(), e);
        }
        gone = "it was published";
    }

    /** Closes and deletes the file unless already gone. Never throws: a failure is logged. */
    void discard(String why) {
        if (gone != null) {
            return;
        }
        gone = why;
        try {
            channel.close();
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warn("{}: deleting the discarded snapshot failed ({}); the next open deletes it", path, why, e);
        }
    }

    private void checkLive() throws IOException {
        if (gone != null) {
            throw new IOException(path + " was discarded: " + gone);
        }
    }
}
