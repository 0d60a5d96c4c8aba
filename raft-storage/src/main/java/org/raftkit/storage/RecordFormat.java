package org.raftkit.storage;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;

/**
 * The byte layout of one log record in a segment file (docs/STORAGE.md, "Record"). Big-endian:
 * <pre>
 * offset  size  field
 *      0     4  crc32c        CRC32C of bytes 4 .. end of payload
 *      4     4  payloadLength bytes of payload, 0 .. {@link #MAX_PAYLOAD_BYTES}
 *      8     8  index         log index, >= 1
 *     16     8  term          term, >= 1
 *     24     8  durableIndex  highest index known durable when this record was written, 0 .. index - 1
 *     32     1  type          1 = command, 2 = no-op (0 is never written, so zeros never decode)
 *     33     n  payload
 * </pre>
 * The checksum covers the length, so a damaged length cannot send a reader to a wrong end that
 * happens to check out; and an all-zero header never checks out (CRC32C of 29 zero bytes is not 0),
 * so a zero-filled (preallocated or torn) region is never taken for a record.
 *
 * <p>{@code durableIndex} is recovery's evidence after a power loss: a bad record followed by a
 * valid one is damage to synced data only if the valid one says the bad one's index was already
 * durable when it was written; otherwise both belong to writes that were never acknowledged
 * (docs/STORAGE.md, "Recovery"). Format 2: format 1 had no {@code durableIndex} (25-byte header);
 * there is no version field, and no log of format 1 was ever released.
 *
 * <p>Stateless; the {@link CRC32C} passed in belongs to the calling thread.
 */
final class RecordFormat {

    static final int CRC_OFFSET = 0;
    static final int LENGTH_OFFSET = 4;
    static final int INDEX_OFFSET = 8;
    static final int TERM_OFFSET = 16;
    static final int DURABLE_INDEX_OFFSET = 24;
    static final int TYPE_OFFSET = 32;
    static final int HEADER_BYTES = 33;
    /** Keeps a record within one Java array and every in-segment offset within an {@code int}. */
    static final int MAX_PAYLOAD_BYTES = 1 << 30;

    private static final byte COMMAND = 1;
    private static final byte NO_OP = 2;
    /** A cluster configuration (thesis §4.1); stored as its own type so it is never applied as a command. */
    private static final byte CONFIGURATION = 3;
    /** A client command with its session header (thesis §6.3). */
    private static final byte SESSION_COMMAND = 4;
    /** A client session's registration (thesis §6.3); no payload. */
    private static final byte REGISTER_SESSION = 5;

    private RecordFormat() {
    }

    /** Bytes the entry takes on disk. */
    static int recordBytes(Entry e) {
        return HEADER_BYTES + e.data().length;
    }

    /** {@link Entry#sizeBytes()} of the entry whose record takes {@code recordBytes} on disk. */
    static long entrySizeBytes(int recordBytes) {
        return (long) recordBytes - HEADER_BYTES + Entry.OVERHEAD_BYTES;
    }

    /**
     * Writes the entry's header, checksum included, into {@code header} (a heap buffer of
     * {@link #HEADER_BYTES}) at position 0; the checksum covers the payload, which the caller
     * writes right after the header. {@code durableIndex} is the highest index whose record a
     * completed sync has made durable, below {@code e.index()}.
     */
    static void encodeHeader(Entry e, long durableIndex, ByteBuffer header, CRC32C crc) {
        header.clear();
        header.putInt(LENGTH_OFFSET, e.data().length)
                .putLong(INDEX_OFFSET, e.index())
                .putLong(TERM_OFFSET, e.term())
                .putLong(DURABLE_INDEX_OFFSET, durableIndex)
                .put(TYPE_OFFSET, typeByte(e.type()));
        crc.reset();
        crc.update(header.array(), header.arrayOffset() + LENGTH_OFFSET, HEADER_BYTES - LENGTH_OFFSET);
        crc.update(e.data(), 0, e.data().length);
        header.putInt(CRC_OFFSET, (int) crc.getValue());
    }

    /**
     * Whether the header fields at {@code at} in {@code buf} could start a record that fits in
     * {@code availableBytes} (bytes from {@code at} to the end of the file): a cheap test before
     * the checksum.
     */
    static boolean plausibleHeader(ByteBuffer buf, int at, long availableBytes) {
        int length = buf.getInt(at + LENGTH_OFFSET);
        byte type = buf.get(at + TYPE_OFFSET);
        return length >= 0 && length <= MAX_PAYLOAD_BYTES && length <= availableBytes - HEADER_BYTES
                && (type == COMMAND || type == NO_OP || type == CONFIGURATION || type == SESSION_COMMAND
                        || type == REGISTER_SESSION)
                && buf.getLong(at + INDEX_OFFSET) >= 1 && buf.getLong(at + TERM_OFFSET) >= 1
                && buf.getLong(at + DURABLE_INDEX_OFFSET) >= 0
                && buf.getLong(at + DURABLE_INDEX_OFFSET) < buf.getLong(at + INDEX_OFFSET);
    }

    /** Payload length field of the header at {@code at}. */
    static int payloadLength(ByteBuffer buf, int at) {
        return buf.getInt(at + LENGTH_OFFSET);
    }

    /** Index field of the header at {@code at}. */
    static long index(ByteBuffer buf, int at) {
        return buf.getLong(at + INDEX_OFFSET);
    }

    /** Term field of the header at {@code at}. */
    static long term(ByteBuffer buf, int at) {
        return buf.getLong(at + TERM_OFFSET);
    }

    /** Durable-index field of the header at {@code at}. */
    static long durableIndex(ByteBuffer buf, int at) {
        return buf.getLong(at + DURABLE_INDEX_OFFSET);
    }

    /**
     * Whether the whole record at {@code at} (a plausible header and its payload, all inside the
     * heap buffer {@code buf}) matches its checksum.
     */
    static boolean checksumMatches(ByteBuffer buf, int at, CRC32C crc) {
        int length = payloadLength(buf, at);
        crc.reset();
        crc.update(buf.array(), buf.arrayOffset() + at + LENGTH_OFFSET, HEADER_BYTES - LENGTH_OFFSET + length);
        return (int) crc.getValue() == buf.getInt(at + CRC_OFFSET);
    }

    /** The entry of a record already checked with {@link #checksumMatches}; copies the payload once. */
    static Entry decode(ByteBuffer buf, int at) {
        int length = payloadLength(buf, at);
        byte[] data = new byte[length];
        System.arraycopy(buf.array(), buf.arrayOffset() + at + HEADER_BYTES, data, 0, length);
        return new Entry(index(buf, at), term(buf, at), entryType(buf.get(at + TYPE_OFFSET)), data);
    }

    /** The type of a record whose header {@link #plausibleHeader} accepted. */
    private static EntryType entryType(byte type) {
        return switch (type) {
            case NO_OP -> EntryType.NO_OP;
            case CONFIGURATION -> EntryType.CONFIGURATION;
            case SESSION_COMMAND -> EntryType.SESSION_COMMAND;
            case REGISTER_SESSION -> EntryType.REGISTER_SESSION;
            default -> EntryType.COMMAND;
        };
    }

    private static byte typeByte(EntryType t) {
        switch (t) {
            case COMMAND:
                return COMMAND;
            case NO_OP:
                return NO_OP;
            case CONFIGURATION:
                return CONFIGURATION;
            case SESSION_COMMAND:
                return SESSION_COMMAND;
            case REGISTER_SESSION:
                return REGISTER_SESSION;
            default:
                throw new IllegalArgumentException("no record type for " + t);
        }
    }
}
