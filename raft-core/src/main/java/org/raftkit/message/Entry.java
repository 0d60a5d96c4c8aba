package org.raftkit.message;

import java.util.Arrays;
import java.util.Objects;

/**
 * One log entry (Figure 2: "each entry contains command for state machine, and term when entry
 * was received by leader (first index is 1)").
 *
 * <p>The {@code data} array is shared, never copied: whoever builds an entry hands over the array
 * and must not change it afterwards.
 *
 * @param index position in the log, starting at 1
 * @param term  the leader's term when the entry was created
 * @param type  command, no-op or configuration
 * @param data  the command's bytes; empty for a no-op; the encoded configuration for a configuration
 */
public record Entry(long index, long term, EntryType type, byte[] data) {

    /** Bytes counted per entry on top of its data, for batch and window limits. */
    public static final int OVERHEAD_BYTES = 24;
    /**
     * Bytes a {@link EntryType#SESSION_COMMAND} carries before the client's command: its client
     * id, sequence number and floor, each a big-endian 64-bit integer.
     */
    public static final int SESSION_HEADER_BYTES = 24;

    private static final byte[] EMPTY = new byte[0];

    public Entry {
        if (index < 1) {
            throw new IllegalArgumentException("entry index must be >= 1, was " + index);
        }
        if (term < 1) {
            throw new IllegalArgumentException("entry term must be >= 1, was " + term);
        }
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
    }

    /** A command entry. */
    public static Entry command(long index, long term, byte[] data) {
        return new Entry(index, term, EntryType.COMMAND, data);
    }

    /** The no-op a leader appends when its term starts. */
    public static Entry noOp(long index, long term) {
        return new Entry(index, term, EntryType.NO_OP, EMPTY);
    }

    /** A configuration entry; {@code encoded} is {@code Configuration.encode()}'s output. */
    public static Entry configuration(long index, long term, byte[] encoded) {
        return new Entry(index, term, EntryType.CONFIGURATION, encoded);
    }

    /** Size counted against byte limits: the data plus a fixed overhead. */
    public long sizeBytes() {
        return (long) data.length + OVERHEAD_BYTES;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Entry e && e.index == index && e.term == term && e.type == type
                && Arrays.equals(e.data, data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(index, term, type) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Entry{" + index + "@" + term + (type == EntryType.NO_OP ? " no-op"
                : type == EntryType.CONFIGURATION ? " configuration" : " " + data.length + "B") + "}";
    }
}
