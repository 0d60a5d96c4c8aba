package org.raftkit.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@link FileChannelFactory} for one directory that does every operation on the real files (so
 * storage reads back what it wrote) and records, in order, each one that matters to a power loss:
 * writes (with their bytes), truncations and forces of each file, and the directory's creates,
 * unlinks, renames and forces. {@link DiskModel} replays the record and builds, from any point in
 * it, the disks a power loss there could leave.
 *
 * <p>Forces are recorded but not passed on: durability is the model's business, and skipping the
 * real fsyncs keeps thousands of crash images fast. Files are known by an inode number, so a name
 * that is unlinked and created again, or renamed, stays apart from the file it named before.
 *
 * <p>One thread at a time (the test's, and the storage thread it drives).
 */
final class PowerLossDisk implements FileChannelFactory {

    /** One recorded operation. */
    sealed interface Event permits Write, Truncate, Force, Create, Unlink, Rename, DirectorySync {
    }

    /** {@code bytes} written at {@code offset} of file {@code inode}. */
    record Write(long inode, long offset, byte[] bytes) implements Event {
    }

    /** File {@code inode} cut to {@code size} bytes. */
    record Truncate(long inode, long size) implements Event {
    }

    /** File {@code inode} forced: its bytes and size are durable. */
    record Force(long inode) implements Event {
    }

    /** A new, empty file {@code inode} named {@code name}. */
    record Create(String name, long inode) implements Event {
    }

    /** {@code name} removed from the directory. */
    record Unlink(String name) implements Event {
    }

    /** {@code from} renamed over {@code to}. */
    record Rename(String from, String to) implements Event {
    }

    /** The directory forced: every create, unlink and rename before it is durable. */
    record DirectorySync() implements Event {
    }

    private final Path dir;
    private final DiskModel initial;
    /** The directory as the running code sees it: name to inode. */
    private final Map<String, Long> names = new HashMap<>();
    private final List<Event> journal = new ArrayList<>();
    private long nextInode;
    /** While true, the process is "dead": every write, force and directory change is swallowed. */
    private boolean dead;
    /** Channels opened before the last {@link #revive()} belong to a dead process and do nothing. */
    private int generation;

    private PowerLossDisk(Path dir, DiskModel initial) {
        this.dir = dir;
        this.initial = initial;
        this.names.putAll(initial.names());
        this.nextInode = initial.nextInode();
    }

    /** Starts recording on {@code dir}; what is in it now is taken as durable. */
    static PowerLossDisk recording(Path dir) throws IOException {
        return new PowerLossDisk(dir, DiskModel.ofDirectory(dir));
    }

    /** A fresh model of the directory as it was when recording started. */
    DiskModel initial() {
        return initial.copy();
    }

    /** Everything recorded so far. */
    List<Event> journal() {
        return journal;
    }

    /** Events recorded so far: a crash point. */
    int position() {
        return journal.size();
    }

    /**
     * The process dies (kill -9): from now until {@link #revive()}, writes, forces and directory
     * changes do nothing, as if the code that makes them never ran; what was written before stays
     * in the page cache (in the model: written, not forced). Lets a test close the dead log's files.
     */
    void kill() {
        dead = true;
    }

    /** A new process starts; channels of the dead one stay dead. */
    void revive() {
        dead = false;
        generation++;
    }

    @Override
    public FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException {
        if (Files.isDirectory(path)) {
            return new DirectoryChannel(FileChannel.open(path, options));
        }
        String name = nameOf(path);
        Long inode = names.get(name);
        FileChannel real = FileChannel.open(path, options);
        if (inode == null) {
            inode = nextInode++;
            names.put(name, inode);
            journal.add(new Create(name, inode));
        } else if (options.contains(StandardOpenOption.TRUNCATE_EXISTING) && options.contains(StandardOpenOption.WRITE)) {
            journal.add(new Truncate(inode, 0));
        }
        return new RecordingChannel(real, inode);
    }

    @Override
    public void delete(Path path) throws IOException {
        if (dead) {
            return;
        }
        String name = nameOf(path);
        Files.delete(path);
        names.remove(name);
        journal.add(new Unlink(name));
    }

    @Override
    public void replace(Path source, Path target) throws IOException {
        if (dead) {
            return;
        }
        FileChannelFactory.super.replace(source, target);
        String from = nameOf(source);
        String to = nameOf(target);
        names.put(to, names.remove(from));
        journal.add(new Rename(from, to));
    }

    private String nameOf(Path path) {
        if (!path.getParent().equals(dir)) {
            throw new IllegalArgumentException(path + " is not in " + dir);
        }
        return path.getFileName().toString();
    }

    /** A file's channel: every write, truncation and force is recorded; forces go no further. */
    private final class RecordingChannel extends ForwardingFileChannel {

        private final long inode;
        private final int openedIn = generation;

        RecordingChannel(FileChannel delegate, long inode) {
            super(delegate);
            this.inode = inode;
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            if (isDead(openedIn)) {
                return swallow(src);
            }
            ByteBuffer copy = src.duplicate();
            int n = delegate.write(src, position);
            record(copy, n, position);
            return n;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            if (isDead(openedIn)) {
                return swallow(src);
            }
            ByteBuffer copy = src.duplicate();
            long position = delegate.position();
            int n = delegate.write(src);
            record(copy, n, position);
            return n;
        }

        private void record(ByteBuffer copy, int n, long position) {
            byte[] bytes = new byte[n];
            copy.get(bytes);
            journal.add(new Write(inode, position, bytes));
        }

        @Override
        public void force(boolean metaData) {
            if (!isDead(openedIn)) {
                journal.add(new Force(inode));
            }
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            if (isDead(openedIn)) {
                return this;
            }
            if (size < delegate.size()) {
                journal.add(new Truncate(inode, size));
            }
            delegate.truncate(size);
            return this;
        }
    }

    /** The directory's own channel, opened only to force it. */
    private final class DirectoryChannel extends ForwardingFileChannel {

        private final int openedIn = generation;

        DirectoryChannel(FileChannel delegate) {
            super(delegate);
        }

        @Override
        public void force(boolean metaData) {
            if (!isDead(openedIn)) {
                journal.add(new DirectorySync());
            }
        }
    }

    private boolean isDead(int openedIn) {
        return dead || openedIn != generation;
    }

    /** A write by a dead process: it never happened. */
    private static int swallow(ByteBuffer src) {
        int n = src.remaining();
        src.position(src.limit());
        return n;
    }
}
