package org.raftkit.memory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.raftkit.core.Configuration;
import org.raftkit.spi.SnapshotFormat;
import org.raftkit.spi.SnapshotStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link SnapshotStore} in memory, for tests, simulations and embedding where durability comes
 * from elsewhere. Each snapshot is held as the bytes of the file a {@code FileSnapshotStore} would
 * write ({@link SnapshotFormat}), so chunks read here can be received by a file store and the
 * other way round. Everything is lost when the process ends; {@link #copy()} stands for a restart.
 *
 * <p>Same rules as the file store: {@link #list()} checks every snapshot in full and skips a bad
 * one with a WARN; {@link Receiver#publish()} checks index, term, size and CRC; publishing keeps
 * the newest {@code keepSnapshots} snapshots not known to be bad and drops every older one.
 * {@link #damage} changes a stored byte, as a failing disk would.
 *
 * <p>Thread-safe: one writer, one receiver and any number of readers. A published snapshot's
 * bytes never change (except through {@link #damage}), so readers copy them under a short lock.
 */
public final class MemorySnapshotStore implements SnapshotStore {

    private static final Logger LOG = LoggerFactory.getLogger(MemorySnapshotStore.class);
    /** How many snapshots are kept unless told otherwise: the newest and one to fall back on. */
    public static final int DEFAULT_KEEP_SNAPSHOTS = 2;

    private final int keepSnapshots;
    /** Published snapshots by index, newest first. Guarded by this. */
    private final TreeMap<Long, Stored> snapshots = new TreeMap<>(Comparator.reverseOrder());
    /** The receive under way, discarded when a new one starts. Guarded by this. */
    private Receiving receiving;
    /** Whether a {@link Writer} is open (one at a time). Guarded by this. */
    private boolean writerOpen;

    /** A file's bytes and whether {@link #list()} found them bad. */
    private static final class Stored {
        final SnapshotInfo info;
        final byte[] file;
        boolean bad;

        Stored(SnapshotInfo info, byte[] file) {
            this.info = info;
            this.file = file;
        }
    }

    /** An empty store keeping {@value #DEFAULT_KEEP_SNAPSHOTS} snapshots. */
    public MemorySnapshotStore() {
        this(DEFAULT_KEEP_SNAPSHOTS);
    }

    /**
     * An empty store keeping the newest {@code keepSnapshots} snapshots.
     *
     * @throws IllegalArgumentException if {@code keepSnapshots < 1}
     */
    public MemorySnapshotStore(int keepSnapshots) {
        if (keepSnapshots < 1) {
            throw new IllegalArgumentException("keepSnapshots must be >= 1, was " + keepSnapshots);
        }
        this.keepSnapshots = keepSnapshots;
    }

    /** The published snapshots as a restarted node would find them; unpublished ones are gone. */
    public synchronized MemorySnapshotStore copy() {
        MemorySnapshotStore c = new MemorySnapshotStore(keepSnapshots);
        for (Stored s : snapshots.values()) {
            c.snapshots.put(s.info.index(), new Stored(s.info, s.file.clone()));
        }
        return c;
    }

    /**
     * Flips every bit of the byte at {@code offset} in a published snapshot, as a failing disk
     * would: {@link #list()} then skips it. For simulations and tests. Any thread.
     *
     * @throws IllegalArgumentException if the snapshot is not held or the offset is outside it
     */
    public synchronized void damage(SnapshotInfo snapshot, long offset) {
        Stored s = snapshots.get(snapshot.index());
        if (s == null || offset < 0 || offset >= s.file.length) {
            throw new IllegalArgumentException("no byte " + offset + " in " + snapshot);
        }
        s.file[(int) offset] ^= (byte) 0xff;
    }

    /** {@inheritDoc} Checks each snapshot's bytes in full. */
    @Override
    public synchronized List<SnapshotInfo> list() {
        List<SnapshotInfo> good = new ArrayList<>();
        for (Stored s : snapshots.values()) {
            try {
                SnapshotInfo read = SnapshotFormat.verify(name(s.info), s.file.length, SnapshotFormat.readAt(s.file));
                if (read.index() != s.info.index() || read.term() != s.info.term()) {
                    throw new IOException(name(s.info) + " holds index " + read.index() + ", term " + read.term());
                }
                good.add(read);
            } catch (IOException e) {
                s.bad = true;
                LOG.warn("skipping a bad snapshot: {}", e.getMessage());
            }
        }
        return good;
    }

    /**
     * {@inheritDoc} Any thread.
     *
     * @throws IllegalStateException if a writer is still open
     */
    @Override
    public synchronized Writer begin(long index, long term, Configuration configuration) {
        if (writerOpen) {
            throw new IllegalStateException("a snapshot is already being written");
        }
        SnapshotFormat.Encoder encoder = new SnapshotFormat.Encoder(index, term, configuration);
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        file.writeBytes(encoder.header());
        OutputStream body = new OutputStream() {
            @Override
            public void write(int b) {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                file.write(b, off, len);
                encoder.update(b, off, len);
            }
        };
        writerOpen = true;
        return new Writer() {
            private boolean done;

            @Override
            public OutputStream body() {
                return body;
            }

            @Override
            public SnapshotInfo publish() {
                if (done) {
                    throw new IllegalStateException("snapshot at index " + index + " already published or discarded");
                }
                close();
                file.writeBytes(encoder.trailer());
                return add(encoder.info(), file.toByteArray());
            }

            @Override
            public void close() {
                synchronized (MemorySnapshotStore.this) {
                    if (!done) {
                        done = true;
                        writerOpen = false;
                    }
                }
            }
        };
    }

    /** {@inheritDoc} Any thread. */
    @Override
    public InputStream openState(SnapshotInfo snapshot) throws IOException {
        byte[] file = file(snapshot);
        int offset = (int) snapshot.stateOffset();
        return new ByteArrayInputStream(file, offset, (int) SnapshotFormat.stateBytes(snapshot));
    }

    /** {@inheritDoc} Any thread. */
    @Override
    public byte[] readChunk(SnapshotInfo snapshot, long offset, int maxBytes) throws IOException {
        byte[] file = file(snapshot);
        if (offset < 0 || offset > file.length || maxBytes < 0) {
            throw new IllegalArgumentException("offset " + offset + ", maxBytes " + maxBytes + " outside the "
                    + file.length + "-byte " + name(snapshot));
        }
        return Arrays.copyOfRange(file, (int) offset, (int) Math.min(file.length, offset + maxBytes));
    }

    /** {@inheritDoc} Holds the snapshot's bytes, so retention cannot take them away. Any thread. */
    @Override
    public ChunkReader openChunks(SnapshotInfo snapshot) throws IOException {
        byte[] file = file(snapshot);
        return (offset, maxBytes) -> {
            if (offset < 0 || offset > file.length || maxBytes < 0) {
                throw new IllegalArgumentException("offset " + offset + ", maxBytes " + maxBytes + " outside the "
                        + file.length + "-byte " + name(snapshot));
            }
            return Arrays.copyOfRange(file, (int) offset, (int) Math.min(file.length, offset + maxBytes));
        };
    }

    /** {@inheritDoc} Any thread. */
    @Override
    public synchronized Receiver receive(long index, long term) {
        if (receiving != null) {
            receiving.discarded = true;
        }
        receiving = new Receiving(index, term);
        return receiving;
    }

    /** Discards a receive under way; the published snapshots stay (a {@link #copy()} still sees them). */
    @Override
    public synchronized void close() {
        if (receiving != null) {
            receiving.discarded = true;
        }
    }

    private synchronized SnapshotInfo add(SnapshotInfo info, byte[] file) {
        snapshots.put(info.index(), new Stored(info, file));
        // Keep the newest keepSnapshots not known to be bad; everything older goes.
        int good = 0;
        Long oldestKept = null;
        for (Map.Entry<Long, Stored> e : snapshots.entrySet()) {
            if (good == keepSnapshots) {
                break;
            }
            oldestKept = e.getKey();
            good += e.getValue().bad ? 0 : 1;
        }
        if (good == keepSnapshots) {
            snapshots.tailMap(oldestKept, false).clear();
        }
        return info;
    }

    private synchronized byte[] file(SnapshotInfo snapshot) throws IOException {
        Stored s = snapshots.get(snapshot.index());
        if (s == null || !s.info.equals(snapshot)) {
            throw new IOException(name(snapshot) + " is gone (replaced by newer snapshots)");
        }
        return s.file;
    }

    private static String name(SnapshotInfo s) {
        return "snapshot (index " + s.index() + ", term " + s.term() + ") in memory";
    }

    /** A snapshot arriving chunk by chunk into a growing array. */
    private final class Receiving implements Receiver {

        private final long index;
        private final long term;
        private final ByteArrayOutputStream file = new ByteArrayOutputStream();
        /** Set when a newer receive starts, on close, or once published. Guarded by the store. */
        private boolean discarded;

        Receiving(long index, long term) {
            this.index = index;
            this.term = term;
        }

        @Override
        public long receivedBytes() {
            synchronized (MemorySnapshotStore.this) {
                return file.size();
            }
        }

        @Override
        public void write(long offset, byte[] chunk) throws IOException {
            synchronized (MemorySnapshotStore.this) {
                checkLive();
                if (offset != file.size()) {
                    throw new IllegalArgumentException("chunk at offset " + offset + ", but " + file.size()
                            + " bytes of the snapshot at index " + index + " have arrived");
                }
                file.writeBytes(chunk);
            }
        }

        @Override
        public SnapshotInfo publish() throws IOException {
            byte[] bytes;
            synchronized (MemorySnapshotStore.this) {
                checkLive();
                discarded = true;
                bytes = file.toByteArray();
            }
            String name = "received snapshot (index " + index + ", term " + term + ")";
            SnapshotInfo info = SnapshotFormat.verify(name, bytes.length, SnapshotFormat.readAt(bytes));
            if (info.index() != index || info.term() != term) {
                throw new IOException(name + " holds index " + info.index() + ", term " + info.term()
                        + " instead of what the leader announced");
            }
            return add(info, bytes);
        }

        @Override
        public void close() {
            synchronized (MemorySnapshotStore.this) {
                discarded = true;
            }
        }

        private void checkLive() throws IOException {
            if (discarded) {
                throw new IOException("the receive of the snapshot at index " + index + ", term " + term
                        + " was published, closed or replaced by a newer receive");
            }
        }
    }
}
