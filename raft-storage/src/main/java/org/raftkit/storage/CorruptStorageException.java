package org.raftkit.storage;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Stored bytes fail their checks in a way a crash cannot explain: a checksum mismatch before the
 * log's tail, a gap or a repeated index, an unreadable term/vote file. Opening refuses to go on
 * rather than guess, and the message names the file, the byte offset and the log index (an
 * operator restores the node's data or replaces the node).
 */
public final class CorruptStorageException extends IOException {

    private static final long serialVersionUID = 1L;

    /** No log index applies (a term/vote or log-start file). */
    public static final long NO_INDEX = -1;

    private final transient Path file;
    private final long offset;
    private final long index;

    /**
     * @param file   the file holding the bad bytes
     * @param offset byte offset of the bad record or field in that file
     * @param index  the log index expected there, or {@link #NO_INDEX}
     * @param detail what is wrong
     */
    public CorruptStorageException(Path file, long offset, long index, String detail) {
        super(file + " is corrupt at offset " + offset + (index == NO_INDEX ? "" : " (log index " + index + ")")
                + ": " + detail);
        this.file = file;
        this.offset = offset;
        this.index = index;
    }

    /** The file holding the bad bytes. */
    public Path file() {
        return file;
    }

    /** Byte offset of the bad record or field. */
    public long offset() {
        return offset;
    }

    /** The log index expected at {@link #offset()}, or {@link #NO_INDEX}. */
    public long index() {
        return index;
    }
}
