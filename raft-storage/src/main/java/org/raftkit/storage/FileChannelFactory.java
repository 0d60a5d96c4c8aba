package org.raftkit.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Set;

/**
 * Opens the file channels storage reads and writes through. The default is
 * {@link FileChannel#open(Path, Set, java.nio.file.attribute.FileAttribute[])}; tests pass a
 * factory that wraps the channel in a decorator to inject faults (an I/O error on write or force,
 * a full disk).
 *
 * <p>Called on whichever thread opens a file: the thread that opens the storage, and the storage
 * thread when it creates a segment or writes a temporary file. May block.
 */
@FunctionalInterface
public interface FileChannelFactory {

    /** The plain JDK channel. */
    FileChannelFactory DEFAULT = FileChannel::open;

    /**
     * Opens {@code path} with {@code options}.
     *
     * @throws IOException as {@link FileChannel#open} does
     */
    FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException;
}
