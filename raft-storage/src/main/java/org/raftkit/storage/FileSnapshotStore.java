package org.raftkit.storage;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.raftkit.core.Configuration;
import org.raftkit.spi.SnapshotFormat;
import org.raftkit.spi.SnapshotStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots as files in one directory, named by index and term
 * ({@code snapshot-<index>-<term>.snap}, 20 digits each) and laid out as {@link SnapshotFormat}
 * says (docs/STORAGE.md, "Snapshots").
 *
 * <pre>{@code
 * SnapshotStore snapshots = FileSnapshotStore.open(dir);   // keeps 2, forces on publish
 * }</pre>
 *
 * <h2>Publishing</h2>
 * A snapshot is written to {@code <name>.tmp} (a received one to {@code <name>.recv.tmp}); publish
 * writes the trailer, forces the file, renames it to its name, forces the directory, and then
 * deletes the snapshots beyond the newest {@link Options#keepSnapshots()}, oldest first. A crash at
 * any point leaves the new snapshot whole or absent; {@link #open} deletes leftover temporary files.
 * An {@link IOException} while writing (a full disk) deletes the temporary file and leaves the
 * published snapshots as they were.
 *
 * <h2>Threads</h2>
 * {@link #open} and {@link #list} on the thread that builds the server. The rest on the runtime's
 * snapshot loop: one writer and one receiver at a time, and any number of concurrent
 * {@link #readChunk}/{@link #openState} calls, which open the published file afresh (a file
 * deleted by retention stays readable through a channel already open on it). All methods block.
 */
public final class FileSnapshotStore implements SnapshotStore {

    private static final Logger LOG = LoggerFactory.getLogger(FileSnapshotStore.class);
    private static final String LOCK_FILE = "snapshot.lock";
    private static final Pattern NAME = Pattern.compile("snapshot-(\\d{20})-(\\d{20})\\.snap");
    private static final int WRITE_BUFFER_BYTES = 256 << 10;
    private static final int READ_BUFFER_BYTES = 64 << 10;

    /**
     * How a {@link FileSnapshotStore} is set up. Validated here, in its only constructor.
     *
     * @param keepSnapshots  how many published snapshots are kept, newest first: 1 .. 100, default 2
     *                       (the newest, and one to fall back on if it turns out damaged)
     * @param syncPolicy     whether publishing forces the file and the directory; default
     *                       {@link SyncPolicy#ALWAYS}. {@link SyncPolicy#NEVER} is for benchmarks
     * @param channelFactory opens every file channel; a test hook for fault injection, default
     *                       {@link FileChannelFactory#DEFAULT}
     * @param forceStepBytes under {@link SyncPolicy#ALWAYS}, a snapshot being written or received
     *                       is forced each time this many bytes were written since the last force,
     *                       so that it reaches the disk in steps rather than all at once when it is
     *                       published, with the log's syncs waiting behind it (docs/STORAGE.md);
     *                       0 forces only at publication. Default 1 MiB
     */
    public record Options(int keepSnapshots, SyncPolicy syncPolicy, FileChannelFactory channelFactory,
                          long forceStepBytes) {

        /** Two: the newest snapshot and one to fall back on. */
        public static final int DEFAULT_KEEP_SNAPSHOTS = 2;
        /**
         * 1 MiB: a log sync waits behind at most a millisecond or so of the disk's bandwidth. Against
         * 4 MiB and no steps in docs/BENCHMARKS.md ("Snapshots"): the write p99 while snapshots are
         * taken rose 1.3–2.7× over none with 1 MiB, 1.3–2.0× with 4 MiB, 4.3–5.5× without steps.
         */
        public static final long DEFAULT_FORCE_STEP_BYTES = 1L << 20;

        /** Checks every value; see the record's description for the ranges. */
        public Options {
            if (keepSnapshots < 1 || keepSnapshots > 100) {
                throw new IllegalArgumentException("keepSnapshots must be in [1, 100], was " + keepSnapshots);
            }
            Objects.requireNonNull(syncPolicy, "syncPolicy");
            Objects.requireNonNull(channelFactory, "channelFactory");
            if (forceStepBytes < 0) {
                throw new IllegalArgumentException("forceStepBytes must not be negative, was " + forceStepBytes);
            }
        }

        /** As the canonical constructor, forcing in steps of {@link #DEFAULT_FORCE_STEP_BYTES}. */
        public Options(int keepSnapshots, SyncPolicy syncPolicy, FileChannelFactory channelFactory) {
            this(keepSnapshots, syncPolicy, channelFactory, DEFAULT_FORCE_STEP_BYTES);
        }

        /** Keep 2, sync always, the JDK's channels, force in steps of 1 MiB. */
        public static Options defaults() {
            return new Options(DEFAULT_KEEP_SNAPSHOTS, SyncPolicy.ALWAYS, FileChannelFactory.DEFAULT,
                    DEFAULT_FORCE_STEP_BYTES);
        }

        /** A copy keeping this many snapshots. */
        public Options withKeepSnapshots(int count) {
            return new Options(count, syncPolicy, channelFactory, forceStepBytes);
        }

        /** A copy with this sync policy. */
        public Options withSyncPolicy(SyncPolicy policy) {
            return new Options(keepSnapshots, policy, channelFactory, forceStepBytes);
        }

        /** A copy that opens files through {@code factory} (fault injection in tests). */
        public Options withChannelFactory(FileChannelFactory factory) {
            return new Options(keepSnapshots, syncPolicy, factory, forceStepBytes);
        }

        /** A copy that forces a snapshot being written every {@code bytes} (0: only when it is published). */
        public Options withForceStepBytes(long bytes) {
            return new Options(keepSnapshots, syncPolicy, channelFactory, bytes);
        }

        /** The step {@link SnapshotTempFile} forces at: none unless every sync is real. */
        long effectiveForceStepBytes() {
            return syncPolicy == SyncPolicy.ALWAYS ? forceStepBytes : 0;
        }
    }

    private final Path dir;
    private final Options options;
    private final FileChannel lock;
    /** Names {@link #list} found bad: retention does not count them as kept snapshots. Guarded by this. */
    private final Set<String> bad = new HashSet<>();
    /** Guarded by this. */
    private FileWriter writing;
    /** Guarded by this. */
    private FileReceiver receiving;

    private FileSnapshotStore(Path dir, Options options, FileChannel lock) {
        this.dir = dir;
        this.options = options;
        this.lock = lock;
    }

    /** {@link #open(Path, Options)} with {@link Options#defaults()}. */
    public static FileSnapshotStore open(Path dir) throws IOException {
        return open(dir, Options.defaults());
    }

    /**
     * Opens (creating if needed) the snapshot directory: locks it ({@code snapshot.lock}) and
     * deletes temporary files a crash left. Reads no snapshot; {@link #list} does. Called once per
     * node, before the server starts.
     *
     * @throws IOException if the directory is already open (by this or another process) or cannot
     *                     be read
     */
    public static FileSnapshotStore open(Path dir, Options options) throws IOException {
        Objects.requireNonNull(options, "options");
        FileChannel lock = StorageFiles.lock(dir, LOCK_FILE, "a FileSnapshotStore");
        try {
            if (options.syncPolicy() == SyncPolicy.NEVER) {
                LOG.warn("{}: sync policy NEVER: snapshots are not forced to disk. For benchmarks only.", dir);
            }
            try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, "snapshot-*.tmp")) {
                for (Path temp : temps) {
                    LOG.info("{}: deleting a snapshot a crash left unpublished", temp);
                    Files.delete(temp);
                }
            }
            return new FileSnapshotStore(dir, options, lock);
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /** The directory the snapshots live in. */
    public Path directory() {
        return dir;
    }

    /** The options it was opened with. */
    public Options options() {
        return options;
    }

    /** The file a snapshot at {@code index} and {@code term} is published as. */
    public Path file(long index, long term) {
        return dir.resolve(String.format("snapshot-%020d-%020d.snap", index, term));
    }

    /**
     * {@inheritDoc} Reads every snapshot file in full (header, size, CRC32C, and that the header
     * matches the name). A bad file is logged at WARN with its name and the reason, and left on
     * disk for a person to look at until retention deletes it.
     */
    @Override
    public List<SnapshotInfo> list() {
        List<SnapshotInfo> good = new ArrayList<>();
        List<Path> files;
        try {
            files = snapshotFiles();
        } catch (IOException e) {
            LOG.warn("{}: cannot list the snapshot directory; starting without snapshots", dir, e);
            return good;
        }
        for (Path file : files) {
            try {
                good.add(verify(file));
            } catch (IOException e) {
                synchronized (this) {
                    bad.add(file.getFileName().toString());
                }
                String why = String.valueOf(e.getMessage());
                LOG.warn("skipping a bad snapshot: {}", why.contains(file.toString()) ? why : file + ": " + why);
            }
        }
        return good;
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalStateException if a writer is still open
     */
    @Override
    public synchronized Writer begin(long index, long term, Configuration configuration) throws IOException {
        if (writing != null) {
            throw new IllegalStateException("a snapshot is already being written: " + writing.temp.path());
        }
        SnapshotFormat.Encoder encoder = new SnapshotFormat.Encoder(index, term, configuration);
        Path name = file(index, term);
        writing = new FileWriter(encoder, SnapshotTempFile.create(
                name.resolveSibling(name.getFileName() + ".tmp"), options.channelFactory(),
                options.effectiveForceStepBytes()));
        return writing;
    }

    /** {@inheritDoc} Any thread. */
    @Override
    public InputStream openState(SnapshotInfo snapshot) throws IOException {
        FileChannel channel = openPublished(snapshot);
        return new BufferedInputStream(new RangeInputStream(channel, snapshot.stateOffset(),
                SnapshotFormat.stateBytes(snapshot)), READ_BUFFER_BYTES);
    }

    /** {@inheritDoc} Any thread. */
    @Override
    public byte[] readChunk(SnapshotInfo snapshot, long offset, int maxBytes) throws IOException {
        if (offset < 0 || offset > snapshot.sizeBytes() || maxBytes < 0) {
            throw new IllegalArgumentException("offset " + offset + ", maxBytes " + maxBytes + " outside the "
                    + snapshot.sizeBytes() + "-byte " + file(snapshot.index(), snapshot.term()));
        }
        try (FileChannel channel = openPublished(snapshot)) {
            ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(maxBytes, snapshot.sizeBytes() - offset));
            StorageFiles.readFully(channel, chunk, offset);
            return chunk.array();
        }
    }

    /**
     * {@inheritDoc} Keeps the file open until the reader is closed: retention may remove its name
     * meanwhile, and the transfer reads on from the open file.
     */
    @Override
    public ChunkReader openChunks(SnapshotInfo snapshot) throws IOException {
        FileChannel channel = openPublished(snapshot);
        return new ChunkReader() {
            @Override
            public byte[] read(long offset, int maxBytes) throws IOException {
                if (offset < 0 || offset > snapshot.sizeBytes() || maxBytes < 0) {
                    throw new IllegalArgumentException("offset " + offset + ", maxBytes " + maxBytes + " outside the "
                            + snapshot.sizeBytes() + "-byte " + file(snapshot.index(), snapshot.term()));
                }
                ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(maxBytes, snapshot.sizeBytes() - offset));
                StorageFiles.readFully(channel, chunk, offset);
                return chunk.array();
            }

            @Override
            public void close() {
                try {
                    channel.close();
                } catch (IOException e) {
                    LOG.debug("closing {} after sending it failed: {}", file(snapshot.index(), snapshot.term()), e.toString());
                }
            }
        };
    }

    /** {@inheritDoc} Discards a receive under way (its temporary file is deleted). */
    @Override
    public synchronized Receiver receive(long index, long term) throws IOException {
        if (receiving != null) {
            receiving.temp.discard("a newer receive started");
        }
        Path name = file(index, term);
        receiving = new FileReceiver(index, term, SnapshotTempFile.create(
                name.resolveSibling(name.getFileName() + ".recv.tmp"), options.channelFactory(),
                options.effectiveForceStepBytes()));
        return receiving;
    }

    /** Discards unpublished snapshots (deleting their temporary files) and releases the lock. Idempotent. */
    @Override
    public synchronized void close() {
        if (writing != null) {
            writing.temp.discard("the store was closed");
        }
        if (receiving != null) {
            receiving.temp.discard("the store was closed");
        }
        try {
            lock.close();
        } catch (IOException e) {
            LOG.warn("{}: releasing the lock failed", dir, e);
        }
    }

    /**
     * Forces the temporary file, renames it to the snapshot's name, forces the directory, then
     * applies retention. On failure the temporary (or, if only the directory force failed, the
     * renamed) file is deleted and nothing counts as published.
     */
    private SnapshotInfo install(SnapshotTempFile temp, SnapshotInfo info) throws IOException {
        boolean sync = options.syncPolicy() == SyncPolicy.ALWAYS;
        Path target = file(info.index(), info.term());
        temp.finish(sync);
        try {
            Files.move(temp.path(), target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            Files.deleteIfExists(temp.path());
            throw e;
        }
        try {
            if (sync) {
                StorageFiles.fsyncDirectory(dir, options.channelFactory());
            }
        } catch (IOException e) {
            Files.deleteIfExists(target);
            throw new IOException("forcing " + dir + " after renaming " + target + " failed: " + e.getMessage(), e);
        }
        LOG.info("{}: published snapshot at index {}, term {} ({} bytes)", target, info.index(), info.term(),
                info.sizeBytes());
        retain();
        return info;
    }

    /**
     * Deletes every snapshot older than the newest {@code keepSnapshots} not known to be bad. A
     * failure leaves old snapshots one publish longer; the snapshot just published stays published.
     */
    private synchronized void retain() {
        List<Path> files;
        try {
            files = snapshotFiles(); // newest first
        } catch (IOException e) {
            LOG.warn("{}: cannot list the directory to delete old snapshots", dir, e);
            return;
        }
        int kept = 0;
        int cut = files.size();
        for (int i = 0; i < files.size() && cut == files.size(); i++) {
            kept += bad.contains(files.get(i).getFileName().toString()) ? 0 : 1;
            if (kept == options.keepSnapshots()) {
                cut = i + 1;
            }
        }
        for (int i = files.size() - 1; i >= cut; i--) {
            try {
                Files.deleteIfExists(files.get(i));
                bad.remove(files.get(i).getFileName().toString());
                LOG.info("{}: deleted (older than the newest {} snapshots)", files.get(i), options.keepSnapshots());
            } catch (IOException e) {
                LOG.warn("{}: deleting an old snapshot failed", files.get(i), e);
            }
        }
    }

    /** Published snapshot files by name, newest (highest index, then term) first. */
    private List<Path> snapshotFiles() throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> all = Files.newDirectoryStream(dir, "snapshot-*.snap")) {
            for (Path p : all) {
                if (NAME.matcher(p.getFileName().toString()).matches()) {
                    files.add(p);
                } else {
                    LOG.warn("{}: ignored: not a snapshot name (snapshot-<20 digits>-<20 digits>.snap)", p);
                }
            }
        }
        files.sort(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed());
        return files;
    }

    /** Checks one published file in full; the error names the file and what was wrong. */
    SnapshotInfo verify(Path file) throws IOException {
        Matcher m = NAME.matcher(file.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(file.toString());
        }
        try (FileChannel channel = options.channelFactory().open(file, Set.of(StandardOpenOption.READ))) {
            SnapshotInfo info = SnapshotFormat.verify(file.toString(), channel.size(), channel::read);
            if (info.index() != Long.parseLong(m.group(1)) || info.term() != Long.parseLong(m.group(2))) {
                throw new IOException(file + " holds index " + info.index() + ", term " + info.term()
                        + ", not what its name says");
            }
            return info;
        }
    }

    private FileChannel openPublished(SnapshotInfo snapshot) throws IOException {
        Path file = file(snapshot.index(), snapshot.term());
        FileChannel channel;
        try {
            channel = options.channelFactory().open(file, Set.of(StandardOpenOption.READ));
        } catch (NoSuchFileException e) {
            throw new IOException(file + " is gone (replaced by newer snapshots)", e);
        }
        if (channel.size() != snapshot.sizeBytes()) {
            channel.close();
            throw new IOException(file + " has " + channel.size() + " bytes, not the " + snapshot.sizeBytes()
                    + " it was published with");
        }
        return channel;
    }

    /** This node's snapshot: the body goes through a buffer; the encoder sees every byte. */
    private final class FileWriter implements Writer {

        private final SnapshotFormat.Encoder encoder;
        private final SnapshotTempFile temp;
        private final ByteBuffer buffer = ByteBuffer.allocate(WRITE_BUFFER_BYTES);
        private final OutputStream body = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                if (!buffer.hasRemaining()) {
                    flush();
                }
                buffer.put((byte) b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                if (len > buffer.remaining()) {
                    flush();
                }
                if (len >= buffer.capacity()) {
                    append(ByteBuffer.wrap(b, off, len));
                } else {
                    buffer.put(b, off, len);
                }
            }

            @Override
            public void flush() throws IOException {
                append(buffer.flip());
                buffer.clear();
            }
        };

        FileWriter(SnapshotFormat.Encoder encoder, SnapshotTempFile temp) throws IOException {
            this.encoder = encoder;
            this.temp = temp;
            temp.append(ByteBuffer.wrap(encoder.header())); // header() counts itself into the encoder
        }

        private void append(ByteBuffer bytes) throws IOException {
            encoder.update(bytes.duplicate());
            temp.append(bytes);
        }

        @Override
        public OutputStream body() {
            return body;
        }

        @Override
        public SnapshotInfo publish() throws IOException {
            try {
                body.flush();
                temp.append(ByteBuffer.wrap(encoder.trailer()));
                return install(temp, encoder.info());
            } finally {
                close(); // published or failed, this writer is done and the next may begin
            }
        }

        @Override
        public void close() {
            synchronized (FileSnapshotStore.this) {
                temp.discard("the writer was closed unpublished");
                if (writing == this) {
                    writing = null;
                }
            }
        }
    }

    /** A snapshot from the leader: chunks go straight to the file; publish reads it back to check it. */
    private final class FileReceiver implements Receiver {

        private final long index;
        private final long term;
        private final SnapshotTempFile temp;

        FileReceiver(long index, long term, SnapshotTempFile temp) {
            this.index = index;
            this.term = term;
            this.temp = temp;
        }

        @Override
        public long receivedBytes() {
            return temp.size();
        }

        @Override
        public void write(long offset, byte[] chunk) throws IOException {
            if (offset != temp.size()) {
                throw new IllegalArgumentException("chunk at offset " + offset + ", but " + temp.size()
                        + " bytes of " + temp.path() + " have arrived");
            }
            temp.append(ByteBuffer.wrap(chunk));
        }

        @Override
        public SnapshotInfo publish() throws IOException {
            try {
                FileChannel channel = temp.channel();
                SnapshotInfo info = SnapshotFormat.verify(temp.path().toString(), temp.size(), channel::read);
                if (info.index() != index || info.term() != term) {
                    throw new IOException(temp.path() + " holds index " + info.index() + ", term " + info.term()
                            + " instead of the index " + index + ", term " + term + " the leader announced");
                }
                return install(temp, info);
            } finally {
                close();
            }
        }

        @Override
        public void close() {
            synchronized (FileSnapshotStore.this) {
                temp.discard("the receive was closed unpublished");
                if (receiving == this) {
                    receiving = null;
                }
            }
        }
    }
}
