package org.raftkit.examples.kv;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import org.raftkit.StateMachine;
import org.raftkit.examples.kv.KvCommand.Outcome;
import org.raftkit.examples.kv.KvCommand.Write;

/**
 * The replicated key-value map. Each key holds a value and a revision: the log index of the write
 * that last changed it, so a revision is unique across the whole store and only grows.
 *
 * <p>Deterministic: the outcome of a command depends only on the map and the command, never on
 * time or iteration order. A command that does not decode is answered {@link Outcome#MALFORMED}
 * and changes nothing (throwing would stop the node: see {@link StateMachine}).
 *
 * <p>Called on the node's apply thread only, like every {@link StateMachine}, so it needs no locks.
 * The map is a {@link HashTrieMap}, so {@link #snapshot()} captures it in constant time, and the
 * snapshot thread writes the captured view while this thread applies on.
 */
public final class KvStateMachine implements StateMachine {

    /** Format version written at the head of a snapshot. */
    private static final int SNAPSHOT_VERSION = 1;

    private record Versioned(byte[] value, long revision) {
    }

    /** The keys; replaced whole by {@link #restore}. */
    private HashTrieMap<Versioned> map = new HashTrieMap<>();
    private long lastAppliedIndex;

    @Override
    public byte[] apply(long index, byte[] command) {
        lastAppliedIndex = index;
        Write write = KvCommand.decodeWrite(command);
        if (write == null) {
            return KvCommand.result(Outcome.MALFORMED, 0, null);
        }
        Versioned current = map.get(write.key());
        long currentRevision = current == null ? 0 : current.revision();
        boolean holds = switch (write.condition()) {
            case NONE -> true;
            case REVISION_IS -> current != null && current.revision() == write.expectedRevision();
            case ABSENT -> current == null;
            case PRESENT -> current != null;
        };
        if (!holds) {
            return KvCommand.result(Outcome.PRECONDITION_FAILED, currentRevision, null);
        }
        switch (write.op()) {
            case PUT -> map.put(write.key(), new Versioned(write.value(), index));
            case DELETE -> {
                if (current == null) {
                    return KvCommand.result(Outcome.NOT_FOUND, 0, null);
                }
                map.remove(write.key());
            }
            default -> {
                return KvCommand.result(Outcome.MALFORMED, 0, null);
            }
        }
        return KvCommand.result(Outcome.OK, index, null);
    }

    @Override
    public byte[] query(byte[] query) {
        String key = KvCommand.decodeGet(query);
        if (key == null) {
            return KvCommand.result(Outcome.MALFORMED, 0, null);
        }
        Versioned v = map.get(key);
        if (v == null) {
            return KvCommand.result(Outcome.NOT_FOUND, 0, null);
        }
        return KvCommand.result(Outcome.OK, v.revision(), v.value());
    }

    /**
     * Captures the map in constant time, whatever its size: the apply thread freezes the current
     * trie ({@link HashTrieMap#capture()}) and goes on applying; its later writes copy the few
     * nodes they change instead of changing the captured ones. The returned snapshot writes the
     * frozen view on the snapshot thread.
     */
    @Override
    public Snapshot snapshot() {
        HashTrieMap.View<Versioned> view = map.capture();
        long applied = lastAppliedIndex;
        return out -> write(view, applied, out);
    }

    /**
     * Writes the view in the map's own order, which depends only on the keys (see
     * {@link HashTrieMap}), so two nodes with the same state write the same bytes: version, last
     * applied index, entry count, then (key, revision, value) per entry, each field as
     * {@link java.io.DataOutput} writes it (the key in modified UTF-8), so {@link #restore} reads it
     * with a {@link DataInputStream}. Snapshot thread.
     */
    private static void write(HashTrieMap.View<Versioned> view, long lastAppliedIndex, OutputStream out)
            throws IOException {
        EntryEncoder encoder = new EntryEncoder(out);
        encoder.header(lastAppliedIndex, view.size());
        try {
            view.forEach((key, v) -> {
                try {
                    encoder.entry(key, v.revision(), v.value());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
        encoder.flush();
    }

    /**
     * Encodes entries into a buffer of its own and hands the snapshot stream whole buffers. A
     * {@link DataOutputStream} would make several calls per entry into the stream (four for each
     * int), which made writing a snapshot CPU-bound at a fraction of the disk's speed. Snapshot thread.
     */
    private static final class EntryEncoder {
        /** Room for the largest key (65,535 bytes), its fields and more. */
        private static final int BUFFER_BYTES = 256 << 10;

        private final OutputStream out;
        private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES);

        EntryEncoder(OutputStream out) {
            this.out = out;
        }

        void header(long lastAppliedIndex, int count) {
            buffer.putInt(SNAPSHOT_VERSION).putLong(lastAppliedIndex).putInt(count);
        }

        void entry(String key, long revision, byte[] value) throws IOException {
            int keyBytes = modifiedUtf8Length(key);
            if (keyBytes > 0xFFFF) {
                throw new java.io.UTFDataFormatException("a key of " + keyBytes + " bytes does not fit a snapshot");
            }
            if (buffer.remaining() < 2 + keyBytes + 8 + 4) {
                flush();
            }
            buffer.putShort((short) keyBytes);
            putModifiedUtf8(key);
            buffer.putLong(revision).putInt(value.length);
            if (value.length <= buffer.remaining()) {
                buffer.put(value);
            } else {
                flush();
                out.write(value);
            }
        }

        /** Bytes of {@code s} in modified UTF-8, as {@link DataOutputStream#writeUTF} counts them. */
        private static int modifiedUtf8Length(String s) {
            int n = s.length();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == 0 || c > 0x7F) {
                    n += c > 0x7FF ? 2 : 1;
                }
            }
            return n;
        }

        private void putModifiedUtf8(String s) {
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c != 0 && c <= 0x7F) {
                    buffer.put((byte) c);
                } else if (c <= 0x7FF) {
                    buffer.put((byte) (0xC0 | (c >> 6))).put((byte) (0x80 | (c & 0x3F)));
                } else {
                    buffer.put((byte) (0xE0 | (c >> 12))).put((byte) (0x80 | ((c >> 6) & 0x3F)))
                            .put((byte) (0x80 | (c & 0x3F)));
                }
            }
        }

        void flush() throws IOException {
            out.write(buffer.array(), 0, buffer.position());
            buffer.clear();
        }
    }

    /** Replaces the map with one written by a {@link #snapshot()}. */
    @Override
    public void restore(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        int version = data.readInt();
        if (version != SNAPSHOT_VERSION) {
            throw new IOException("KV snapshot version " + version + " is not supported (expected "
                    + SNAPSHOT_VERSION + ")");
        }
        long applied = data.readLong();
        int count = data.readInt();
        if (count < 0) {
            throw new IOException("KV snapshot has a negative entry count: " + count);
        }
        HashTrieMap<Versioned> restored = new HashTrieMap<>();
        for (int i = 0; i < count; i++) {
            String key = data.readUTF();
            long revision = data.readLong();
            int length = data.readInt();
            if (length < 0) {
                throw new IOException("KV snapshot entry " + i + " has a negative value length: " + length);
            }
            byte[] value = data.readNBytes(length);
            if (value.length != length) {
                throw new IOException("KV snapshot ends inside entry " + i);
            }
            restored.put(key, new Versioned(value, revision));
        }
        map = restored;
        lastAppliedIndex = applied;
    }

    /** Number of keys; apply thread, or tests once the node is idle. */
    int size() {
        return map.size();
    }
}
