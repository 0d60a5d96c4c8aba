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
 *
 * <p>With a {@code forceStepBytes} above zero, the file is forced each time that many bytes were
 * written since the last force. A snapshot is large (150 MB for a million KV keys) and otherwise
 * reaches the disk all at once when it is published: the device's queue then holds the whole file
 * while the log's own syncs, a few hundred bytes each, wait behind it, and every write in flight
 * waits with them. Forcing in steps spreads the snapshot's write-back over its writing, so a log
 * sync waits behind one step at most.
 */
final class SnapshotTempFile {

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotTempFile.class);

    private final Path path;
    private final FileChannel channel;
    private final long forceStepBytes;
    private long size;
    private long unforcedBytes;
    /** Why the file is gone: discarded after a failure, published (renamed away) or closed. */
    private String gone;

    private SnapshotTempFile(Path path, FileChannel channel, long forceStepBytes) {
        this.path = path;
        this.channel = channel;
        this.forceStepBytes = forceStepBytes;
    }

    /** Creates (or empties a leftover) {@code path}; forces it every {@code forceStepBytes} written (0: only when finished). */
    static SnapshotTempFile create(Path path, FileChannelFactory channels, long forceStepBytes) throws IOException {
        return new SnapshotTempFile(path, channels.open(path, Set.of(StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE, StandardOpenOption.READ)),
                forceStepBytes);
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

    /** Appends all of {@code bytes}, forcing a step if one is due; a failure discards the file and is rethrown. */
    void append(ByteBuffer bytes) throws IOException {
        checkLive();
        try {
            while (bytes.hasRemaining()) {
                // At most up to the next step, so a large write is forced in steps too.
                int n = forceStepBytes == 0 ? bytes.remaining()
                        : (int) Math.min(bytes.remaining(), forceStepBytes - unforcedBytes);
                ByteBuffer part = bytes.slice(bytes.position(), n);
                StorageFiles.writeFully(channel, part, size);
                bytes.position(bytes.position() + n);
                size += n;
                unforcedBytes += n;
                if (forceStepBytes > 0 && unforcedBytes == forceStepBytes) {
                    channel.force(false);
                    unforcedBytes = 0;
                }
            }
        } catch (IOException e) {
            discard("writing failed: " + e.getMessage());
            throw new IOException("writing " + path + " failed: " + e.getMessage(), e);
        }
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
