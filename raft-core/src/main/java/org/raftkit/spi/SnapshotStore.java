package org.raftkit.spi;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

import org.raftkit.core.Configuration;

/**
 * Keeps a node's snapshots: the state machine's state as of a log index, with what Raft needs to
 * go on from there (Raft paper §7, thesis chapter 5). Each snapshot is one file (or blob) made of
 * a header (format version, last included index and term, the cluster configuration at that
 * index), the state machine's bytes, and a trailer (size and CRC32C of everything before it).
 * A snapshot is published atomically (written to a temporary name, forced, renamed, and the
 * directory forced), so after a crash it is either whole or absent. The newest few are kept.
 *
 * <h2>Threads</h2>
 * {@link #list} is called once, before the node starts, on the thread that builds the server.
 * Everything else is called on the runtime's snapshot loop, never on the Raft loop: reading and
 * writing snapshots may block for long. Implementations must be safe for one writer and
 * concurrent readers (a snapshot being sent to a follower while a newer one is written).
 *
 * <h2>Failure</h2>
 * An {@link IOException} while writing or receiving fails that snapshot only (its temporary file
 * is removed; the previous snapshot and the log are untouched) and the runtime tries again later.
 * A snapshot whose CRC, header or size is wrong is never returned by {@link #list} and never
 * published by {@link Receiver#publish}: the error names the file and what was wrong.
 */
public interface SnapshotStore extends AutoCloseable {

    /**
     * What describes one snapshot.
     *
     * @param index     last included index: the snapshot replaces every entry up to it
     * @param term      last included term: the term of the entry at {@code index}
     * @param configuration the cluster configuration in force at {@code index} (thesis §4.1): a node
     *                      that installs the snapshot uses it until an entry after it says otherwise
     * @param stateOffset   where the state machine's bytes start in the file (the header's size)
     * @param sizeBytes     the whole file's size, header and trailer included (what a transfer sends)
     * @param crc32c        the CRC32C in the trailer, over everything before it
     */
    record SnapshotInfo(long index, long term, Configuration configuration, long stateOffset, long sizeBytes,
                        int crc32c) {
        public SnapshotInfo {
            java.util.Objects.requireNonNull(configuration, "configuration");
        }
    }

    /**
     * The snapshots held whose header, size and CRC check out, newest (highest index) first; empty
     * when there are none. A snapshot that fails a check is left out and logged at WARN with the
     * file and the reason. Called once at start; may block (it reads every snapshot in full).
     */
    List<SnapshotInfo> list();

    /**
     * Starts writing a new snapshot at {@code index}: the caller writes the state machine's bytes
     * to {@link Writer#body()} and then publishes or aborts. One at a time.
     *
     * @throws IOException if the temporary file cannot be created
     */
    Writer begin(long index, long term, Configuration configuration) throws IOException;

    /**
     * Opens a published snapshot's state machine bytes (without header and trailer) for
     * {@code StateMachine.restore}. The caller closes the stream.
     *
     * @throws IOException if the snapshot is gone (replaced by newer ones) or unreadable
     */
    InputStream openState(SnapshotInfo snapshot) throws IOException;

    /**
     * Reads up to {@code maxBytes} of the published snapshot's whole file from {@code offset}, for
     * sending it to a follower in chunks (InstallSnapshot, Figure 13). Returns fewer bytes only at
     * the end of the file.
     *
     * @throws IOException if the snapshot is gone or unreadable
     */
    byte[] readChunk(SnapshotInfo snapshot, long offset, int maxBytes) throws IOException;

    /**
     * Opens a published snapshot for sending it to a follower (InstallSnapshot), chunk by chunk.
     * The reader must go on reading the snapshot it was opened on even after retention has removed
     * it (a large snapshot's transfer can outlast the leader's next few snapshots; a file store
     * keeps its file open, and an open file outlives its name). Called on the snapshot loop; may
     * block.
     *
     * <p>The default reads each chunk with {@link #readChunk}, which fails once retention has
     * removed the snapshot; stores should override it.
     *
     * @throws IOException if the snapshot is already gone or unreadable
     */
    default ChunkReader openChunks(SnapshotInfo snapshot) throws IOException {
        return (offset, maxBytes) -> readChunk(snapshot, offset, maxBytes);
    }

    /** A published snapshot open for sending; see {@link #openChunks}. Used by one thread. */
    interface ChunkReader extends AutoCloseable {

        /**
         * Reads up to {@code maxBytes} of the snapshot's whole file from {@code offset}; fewer only
         * at the end of the file.
         *
         * @throws IOException if reading fails
         */
        byte[] read(long offset, int maxBytes) throws IOException;

        /** Releases the file. Idempotent. */
        @Override
        default void close() {
        }
    }

    /**
     * Starts receiving a snapshot file from the leader, to be written chunk by chunk at increasing
     * offsets. Any unpublished receive under way is discarded first.
     *
     * @throws IOException if the temporary file cannot be created
     */
    Receiver receive(long index, long term) throws IOException;

    /** Releases files. Called once, after the node has stopped. */
    @Override
    void close();

    /** A snapshot being written by this node. */
    interface Writer extends AutoCloseable {

        /** Where the state machine writes its bytes. Not closed by the caller. */
        OutputStream body();

        /**
         * Writes the trailer, forces the file, renames it into place, forces the directory, and
         * removes snapshots beyond the newest few. The snapshot is durable when this returns.
         *
         * @throws IOException if any of that fails; nothing is published then
         */
        SnapshotInfo publish() throws IOException;

        /** Discards the snapshot if it was not published. Idempotent. */
        @Override
        void close();
    }

    /** A snapshot file arriving from the leader. */
    interface Receiver extends AutoCloseable {

        /** Bytes received so far: the offset the next chunk must start at. */
        long receivedBytes();

        /**
         * Writes the chunk at {@code offset}, which must equal {@link #receivedBytes()}.
         *
         * @throws IOException if writing fails
         * @throws IllegalArgumentException if {@code offset} is not where the file ends now
         */
        void write(long offset, byte[] chunk) throws IOException;

        /**
         * Checks the whole file (header, size, CRC; index and term as {@link #receive} was told),
         * then publishes it as {@link Writer#publish()} does.
         *
         * @throws IOException if a check or the publish fails; the message names what was wrong
         */
        SnapshotInfo publish() throws IOException;

        /** Discards the file if it was not published. Idempotent. */
        @Override
        void close();
    }
}
