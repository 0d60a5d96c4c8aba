package org.raftkit.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Set;

/**
 * Opens the file channels storage reads and writes through, and makes the directory changes it
 * makes (deleting a file, renaming one over another). The default is the plain JDK
 * ({@link FileChannel#open(Path, Set, java.nio.file.attribute.FileAttribute[])}, {@link Files});
 * tests pass one that wraps the channel in a decorator to inject faults (an I/O error on write or
 * force, a full disk) or that records every write, force and directory change to build the disk
 * a power loss could leave behind. A directory is forced by opening it and calling
 * {@link FileChannel#force} on that channel ({@link StorageFiles#fsyncDirectory}).
 *
 * <p>Called on whichever thread opens, deletes or renames a file: the thread that opens the
 * storage, and the storage thread when it creates or deletes a segment or replaces a small file.
 * May block.
 */
@FunctionalInterface
public interface FileChannelFactory {

    /** The plain JDK channel and file operations. */
    FileChannelFactory DEFAULT = FileChannel::open;

    /**
     * Opens {@code path} with {@code options}.
     *
     * @throws IOException as {@link FileChannel#open} does
     */
    FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException;

    /**
     * Removes the file {@code path} from its directory. Not durable until the directory is forced.
     *
     * @throws IOException as {@link Files#delete} does (also if the file does not exist)
     */
    default void delete(Path path) throws IOException {
        Files.delete(path);
    }

    /**
     * Renames {@code source} over {@code target} atomically, replacing it if it exists. Not durable
     * until the directory is forced.
     *
     * @throws IOException as {@link Files#move} with {@code ATOMIC_MOVE} does
     */
    default void replace(Path source, Path target) throws IOException {
        Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
