package org.raftkit.spi;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

import org.raftkit.core.Configuration;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;

/**
 * The byte format of a snapshot file, shared by every {@link SnapshotStore} so that a file read by
 * one node's store (sent in chunks, InstallSnapshot) can be received by another's. All integers
 * are big-endian; docs/STORAGE.md has the same table.
 *
 * <pre>
 * offset  bytes  field
 * 0       6      magic "RKSNAP" (ASCII)
 * 6       2      format version, {@value #FORMAT_VERSION}
 * 8       8      last included index, >= 1
 * 16      8      last included term, >= 1
 * 24      4      length c of the configuration
 * 28      c      the configuration at the last included index ({@code Configuration#encode}: every
 *                member's id, Raft address and kind, and the outgoing members while joint)
 * h       s      the state machine's bytes (h = 28 + c)
 * h+s     8      size of the whole file in bytes, this trailer included
 * h+s+8   4      CRC32C of every byte before it
 * </pre>
 *
 * <p>Version 1 (before membership changes) had, from offset 24, a member count n and n voter ids
 * (UTF-8 length in 2 bytes, then the bytes). Such files are still read: their voters become a
 * configuration of voters without addresses, as the cluster that wrote them was built. Files are
 * always written in version 2.
 *
 * <p>Writing: an {@link Encoder} gives the header, is told every state byte, and gives the trailer.
 * Checking: {@link #verify} reads a whole file through positional reads and returns what it
 * describes, or throws {@link InvalidSnapshotException} saying what was wrong and at which offset.
 *
 * <p>Threads: stateless static methods, safe anywhere; an {@link Encoder} belongs to one writer.
 */
public final class SnapshotFormat {

    /** The format version written; a file with a higher one is refused, not guessed at. */
    public static final int FORMAT_VERSION = 2;
    /** The oldest version read: 1, whose header lists voter ids instead of a configuration. */
    public static final int MIN_FORMAT_VERSION = 1;
    /** Size field (8 bytes) and CRC32C (4 bytes) at the end of the file. */
    public static final int TRAILER_BYTES = 12;
    /** Header with an empty configuration (or, in version 1, no member) plus the trailer: the smallest well-formed file. */
    public static final int MIN_FILE_BYTES = 28 + TRAILER_BYTES;

    private static final byte[] MAGIC = "RKSNAP".getBytes(StandardCharsets.US_ASCII);
    private static final int FIXED_HEADER_BYTES = 28;
    private static final int VERIFY_BUFFER_BYTES = 256 << 10;

    private SnapshotFormat() {
    }

    /**
     * Positional reads of a snapshot file, as {@link java.nio.channels.FileChannel#read(ByteBuffer, long)}
     * does them: returns the bytes read, or -1 at the end of the file.
     */
    @FunctionalInterface
    public interface ReadAt {
        /** Reads into {@code dst} from {@code position}. */
        int read(ByteBuffer dst, long position) throws IOException;
    }

    /** A snapshot file that fails a check. The message names the file, the offset and what was wrong. */
    public static final class InvalidSnapshotException extends IOException {

        private static final long serialVersionUID = 1L;

        private final long offset;

        /**
         * @param name   the file (or what stands for it in memory)
         * @param offset byte offset of the bad field
         * @param detail what is wrong
         */
        public InvalidSnapshotException(String name, long offset, String detail) {
            super(name + " is not a valid snapshot (offset " + offset + "): " + detail);
            this.offset = offset;
        }

        /** Byte offset of the bad field. */
        public long offset() {
            return offset;
        }
    }

    /** {@link ReadAt} over a byte array (a snapshot held in memory). */
    public static ReadAt readAt(byte[] file) {
        return (dst, position) -> {
            if (position >= file.length) {
                return -1;
            }
            int n = (int) Math.min(dst.remaining(), file.length - position);
            dst.put(file, (int) position, n);
            return n;
        };
    }

    /** Where the state machine's bytes start in a file written with this configuration (the header's size). */
    public static long stateOffset(Configuration configuration) {
        return FIXED_HEADER_BYTES + configuration.encode().length;
    }

    /** How many state machine bytes the described snapshot holds. */
    public static long stateBytes(SnapshotInfo snapshot) {
        return snapshot.sizeBytes() - snapshot.stateOffset() - TRAILER_BYTES;
    }

    /**
     * Checks a whole snapshot file: magic, format version, trailer size, CRC32C, header. Reads
     * every byte (CRC32C runs at several GB/s, so the disk sets the pace). Blocks.
     *
     * @param name      names the file in error messages
     * @param sizeBytes the file's size
     * @return what the file describes
     * @throws InvalidSnapshotException naming the first check that failed
     * @throws IOException              if reading fails
     */
    public static SnapshotInfo verify(String name, long sizeBytes, ReadAt file) throws IOException {
        ByteBuffer start = ByteBuffer.allocate((int) Math.min(sizeBytes, 8));
        readFully(file, start, 0);
        // The magic first: a foreign file should be called foreign, not "corrupt".
        for (int i = 0; i < Math.min(start.capacity(), MAGIC.length); i++) {
            if (start.get(i) != MAGIC[i]) {
                throw new InvalidSnapshotException(name, 0, "not a RaftKit snapshot: it starts with "
                        + hex(start.array(), Math.min(start.capacity(), MAGIC.length)) + ", expected \"RKSNAP\"");
            }
        }
        if (sizeBytes >= 8) {
            int version = Short.toUnsignedInt(start.getShort(6));
            if (version > FORMAT_VERSION) {
                throw new InvalidSnapshotException(name, 6, "format version " + version + " is newer than this"
                        + " RaftKit reads (" + FORMAT_VERSION + "); it was written by a newer RaftKit");
            }
            if (version < MIN_FORMAT_VERSION) {
                throw new InvalidSnapshotException(name, 6, "format version " + version + " does not exist");
            }
        }
        if (sizeBytes < MIN_FILE_BYTES) {
            throw new InvalidSnapshotException(name, sizeBytes, "truncated: " + sizeBytes
                    + " bytes, a snapshot has at least " + MIN_FILE_BYTES);
        }
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER_BYTES);
        readFully(file, trailer, sizeBytes - TRAILER_BYTES);
        long sizeField = trailer.getLong(0);
        if (sizeField != sizeBytes) {
            throw new InvalidSnapshotException(name, sizeBytes - TRAILER_BYTES, "the trailer says the file has "
                    + sizeField + " bytes but it has " + sizeBytes + " (truncated, extended or damaged)");
        }
        int crc = checksum(file, sizeBytes - 4);
        int crcField = trailer.getInt(8);
        if (crc != crcField) {
            throw new InvalidSnapshotException(name, sizeBytes - 4, String.format(
                    "CRC32C mismatch: the trailer says 0x%08x, the content has 0x%08x", crcField, crc));
        }
        return readHeader(name, sizeBytes, file, crc);
    }

    /** The header of a file whose trailer and CRC have been checked. */
    private static SnapshotInfo readHeader(String name, long sizeBytes, ReadAt file, int crc) throws IOException {
        ByteBuffer fixed = ByteBuffer.allocate(FIXED_HEADER_BYTES);
        readFully(file, fixed, 0);
        int version = Short.toUnsignedInt(fixed.getShort(6));
        long index = fixed.getLong(8);
        long term = fixed.getLong(16);
        int count = fixed.getInt(24);
        if (index < 1 || term < 1) {
            throw new InvalidSnapshotException(name, 8, "index " + index + " and term " + term
                    + " in the header; both must be at least 1");
        }
        long stateEnd = sizeBytes - TRAILER_BYTES;
        if (version == 1) {
            return readVersion1Members(name, sizeBytes, file, crc, index, term, count, stateEnd);
        }
        if (count < 0 || count > stateEnd - FIXED_HEADER_BYTES) {
            throw new InvalidSnapshotException(name, 24, "configuration length " + count + " does not fit in the file");
        }
        ByteBuffer bytes = ByteBuffer.allocate(count);
        readFully(file, bytes, FIXED_HEADER_BYTES);
        Configuration configuration;
        try {
            configuration = Configuration.decode(bytes.array());
        } catch (IllegalArgumentException e) {
            throw new InvalidSnapshotException(name, FIXED_HEADER_BYTES, "the configuration does not decode: "
                    + e.getMessage());
        }
        return new SnapshotInfo(index, term, configuration, FIXED_HEADER_BYTES + count, sizeBytes, crc);
    }

    /** A version 1 header: voter ids, read as a configuration of voters without addresses. */
    private static SnapshotInfo readVersion1Members(String name, long sizeBytes, ReadAt file, int crc, long index,
                                                    long term, int count, long stateEnd) throws IOException {
        if (count < 0 || count > (stateEnd - FIXED_HEADER_BYTES) / 2) {
            throw new InvalidSnapshotException(name, 24, "member count " + count + " does not fit in the file");
        }
        List<String> members = new ArrayList<>(count);
        long at = FIXED_HEADER_BYTES;
        ByteBuffer length = ByteBuffer.allocate(2);
        for (int i = 0; i < count; i++) {
            if (at + 2 > stateEnd) {
                throw new InvalidSnapshotException(name, at, "member " + i + " runs past the end of the state");
            }
            length.clear();
            readFully(file, length, at);
            int n = Short.toUnsignedInt(length.getShort(0));
            if (at + 2 + n > stateEnd) {
                throw new InvalidSnapshotException(name, at, "member " + i + " of " + n
                        + " bytes runs past the end of the state");
            }
            ByteBuffer bytes = ByteBuffer.allocate(n);
            readFully(file, bytes, at + 2);
            try {
                members.add(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes.flip()).toString());
            } catch (CharacterCodingException e) {
                throw new InvalidSnapshotException(name, at + 2, "member " + i + " is not valid UTF-8");
            }
            at += 2 + n;
        }
        Configuration configuration;
        try {
            configuration = Configuration.ofVoters(members);
        } catch (IllegalArgumentException e) {
            throw new InvalidSnapshotException(name, 24, "the members are not a configuration: " + e.getMessage());
        }
        return new SnapshotInfo(index, term, configuration, at, sizeBytes, crc);
    }

    /**
     * Writes one snapshot's framing: {@link #header()} first, then each state byte goes through
     * {@link #update}, then {@link #trailer()} last. One writer, one thread at a time.
     */
    public static final class Encoder {

        private final long index;
        private final long term;
        private final Configuration configuration;
        private final byte[] encodedConfiguration;
        private final CRC32C crc = new CRC32C();
        private long bytes;
        private SnapshotInfo finished;

        /**
         * @param configuration the configuration at {@code index}, which the header carries
         * @throws IllegalArgumentException if index or term is below 1
         */
        public Encoder(long index, long term, Configuration configuration) {
            if (index < 1 || term < 1) {
                throw new IllegalArgumentException("a snapshot's index and term are at least 1, were "
                        + index + " and " + term);
            }
            this.index = index;
            this.term = term;
            this.configuration = Objects.requireNonNull(configuration, "configuration");
            this.encodedConfiguration = configuration.encode();
        }

        /** The header bytes, counted into the size and CRC. Call once, first. */
        public byte[] header() {
            ByteBuffer b = ByteBuffer.allocate(FIXED_HEADER_BYTES + encodedConfiguration.length);
            b.put(MAGIC).putShort((short) FORMAT_VERSION).putLong(index).putLong(term)
                    .putInt(encodedConfiguration.length).put(encodedConfiguration);
            update(b.array(), 0, b.capacity());
            return b.array();
        }

        /** Counts state bytes that went to the file. */
        public void update(byte[] b, int off, int len) {
            crc.update(b, off, len);
            bytes += len;
        }

        /** Counts state bytes that went to the file; consumes {@code b}'s remaining bytes. */
        public void update(ByteBuffer b) {
            bytes += b.remaining();
            crc.update(b);
        }

        /** The 12 trailer bytes, after which the file is complete. Call once, last. */
        public byte[] trailer() {
            if (finished != null) {
                throw new IllegalStateException("trailer already written");
            }
            ByteBuffer b = ByteBuffer.allocate(TRAILER_BYTES);
            long size = bytes + TRAILER_BYTES;
            b.putLong(size);
            crc.update(b.array(), 0, 8);
            int value = (int) crc.getValue();
            b.putInt(value);
            finished = new SnapshotInfo(index, term, configuration, FIXED_HEADER_BYTES + encodedConfiguration.length,
                    size, value);
            return b.array();
        }

        /** What the finished file describes; after {@link #trailer()}. */
        public SnapshotInfo info() {
            return Objects.requireNonNull(finished, "trailer not written yet");
        }
    }

    private static int checksum(ReadAt file, long length) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(length, VERIFY_BUFFER_BYTES));
        for (long at = 0; at < length; ) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), length - at));
            readFully(file, buffer, at);
            at += buffer.position();
            crc.update(buffer.flip());
        }
        return (int) crc.getValue();
    }

    private static void readFully(ReadAt file, ByteBuffer dst, long position) throws IOException {
        long at = position;
        while (dst.hasRemaining()) {
            int n = file.read(dst, at);
            if (n < 0) {
                throw new EOFException("end of file at offset " + at + " while reading from offset " + position);
            }
            at += n;
        }
    }

    private static String hex(byte[] b, int n) {
        StringBuilder s = new StringBuilder("0x");
        for (int i = 0; i < n; i++) {
            s.append(String.format("%02x", b[i]));
        }
        return s.toString();
    }
}
