package org.raftkit.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

import org.raftkit.spi.TermVoteStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code currentTerm} and {@code votedFor} in the file {@code dir/term-vote}, replaced atomically
 * on every save: written to {@code term-vote.tmp}, forced, renamed over {@code term-vote}, and the
 * directory forced. A crash leaves the old state or the new one, never a mix; the file's CRC32C
 * catches damage from outside, and then {@link #open} refuses rather than forget a vote.
 *
 * <p>Payload (big-endian, inside the frame described in docs/STORAGE.md): term (8 bytes), length of
 * votedFor in UTF-8 bytes (4; -1 for none), votedFor.
 *
 * <p>Threads: {@link #open} and {@link #load} on the thread that builds the server; {@link #save}
 * on the storage thread only. It blocks until durable (two forces and a rename). An I/O error puts
 * the store in a failed state: that save and every later one throw {@link StorageFailedException}.
 */
public final class FileTermVoteStore implements TermVoteStore {

    private static final Logger LOG = LoggerFactory.getLogger(FileTermVoteStore.class);
    /** The file's name inside the directory. */
    public static final String FILE_NAME = "term-vote";
    private static final String LOCK_FILE = "term-vote.lock";
    private static final int MAGIC = 0x524b5456; // "RKTV"

    private final Path dir;
    private final AtomicFile file;
    private final FileChannel lock;
    private volatile TermAndVote state;
    private volatile Throwable failure;

    private FileTermVoteStore(Path dir, AtomicFile file, FileChannel lock, TermAndVote state) {
        this.dir = dir;
        this.file = file;
        this.lock = lock;
        this.state = state;
    }

    /**
     * Opens (creating the directory if needed) the store in {@code dir}, locks it and reads the
     * saved state. Called once per node, before the server starts; blocks.
     *
     * @throws CorruptStorageException if the file exists but is damaged (named, with the offset)
     * @throws IOException             if it is already open or cannot be read
     */
    public static FileTermVoteStore open(Path dir) throws IOException {
        return open(dir, FileChannelFactory.DEFAULT);
    }

    /** {@link #open(Path)} writing through {@code channels}: the fault-injection hook for tests. */
    static FileTermVoteStore open(Path dir, FileChannelFactory channels) throws IOException {
        FileChannel lock = StorageFiles.lock(dir, LOCK_FILE, "a FileTermVoteStore");
        try {
            AtomicFile file = new AtomicFile(dir, FILE_NAME, MAGIC, channels);
            byte[] payload = file.read();
            return new FileTermVoteStore(dir, file, lock, payload == null ? new TermAndVote(0, null)
                    : decode(file.file(), payload));
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /** The state read at open or last saved. Any thread; never blocks. */
    @Override
    public TermAndVote load() {
        return state;
    }

    /**
     * Replaces the saved state; durable when it returns. Storage thread only.
     *
     * @throws StorageFailedException if the write fails now or failed before
     * @throws IllegalStateException  if {@code currentTerm} would go down (a bug in the caller)
     */
    @Override
    public void save(TermAndVote newState) {
        Throwable f = failure;
        if (f != null) {
            throw new StorageFailedException(file.file() + " failed earlier and takes no more writes: " + f, f);
        }
        if (newState.currentTerm() < state.currentTerm()) {
            throw new IllegalStateException("currentTerm must never decrease: " + state + " -> " + newState);
        }
        try {
            file.write(encode(newState));
        } catch (IOException e) {
            failure = e;
            LOG.error("{}: saving {} failed; no more saves (fail-stop)", file.file(), newState, e);
            throw new StorageFailedException("saving " + newState + " to " + file.file() + " failed: " + e, e);
        }
        state = newState;
    }

    /** Releases the directory lock. Idempotent. */
    @Override
    public void close() {
        try {
            lock.close();
        } catch (IOException e) {
            LOG.warn("{}: releasing the lock failed", dir, e);
        }
    }

    private static byte[] encode(TermAndVote s) {
        byte[] voted = s.votedFor() == null ? new byte[0] : s.votedFor().getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(12 + voted.length).putLong(s.currentTerm())
                .putInt(s.votedFor() == null ? -1 : voted.length).put(voted).array();
    }

    private static TermAndVote decode(Path path, byte[] payload) throws CorruptStorageException {
        // Offsets in messages are in the file: the payload starts after the 8-byte frame header.
        if (payload.length < 12) {
            throw new CorruptStorageException(path, 8, CorruptStorageException.NO_INDEX,
                    "payload of " + payload.length + " bytes, at least 12 expected");
        }
        ByteBuffer b = ByteBuffer.wrap(payload);
        long term = b.getLong();
        int votedLength = b.getInt();
        boolean lengthFits = votedLength == -1 ? payload.length == 12 : votedLength == payload.length - 12;
        if (term < 0 || !lengthFits) {
            throw new CorruptStorageException(path, 8, CorruptStorageException.NO_INDEX,
                    "term " + term + ", votedFor length " + votedLength + " in a " + payload.length + "-byte payload");
        }
        String votedFor = votedLength < 0 ? null : new String(payload, 12, votedLength, StandardCharsets.UTF_8);
        return new TermAndVote(term, votedFor);
    }

    @Override
    public String toString() {
        return "FileTermVoteStore{" + file.file() + ", " + Objects.toString(state) + "}";
    }
}
