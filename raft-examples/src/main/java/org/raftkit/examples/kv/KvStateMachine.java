package org.raftkit.examples.kv;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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

    /**
     * Format version written at the head of a snapshot: 3 adds the members that recorded their
     * start after the idempotency keys; 2 adds the idempotency keys after the entries; 1 and 2 are
     * still read.
     */
    private static final int SNAPSHOT_VERSION = 3;
    /** Longest node id a member-started record may name, in UTF-8 bytes. */
    static final int MAX_MEMBER_ID_BYTES = 255;
    /**
     * Writes after which an idempotency key is forgotten, counted in log entries so that every node
     * forgets it at the same index (a node's clock would differ).
     */
    static final long IDEMPOTENCY_WINDOW_ENTRIES = 1_000_000;
    /** Most idempotency keys remembered; past it the oldest is forgotten first. */
    static final int MAX_IDEMPOTENCY_KEYS = 100_000;

    private record Versioned(byte[] value, long revision) {
    }

    /** What the first write under an idempotency key was, and what it answered. */
    private record Remembered(byte[] fingerprint, byte[] result, long index) {
    }

    /** The keys; replaced whole by {@link #restore}. */
    private HashTrieMap<Versioned> map = new HashTrieMap<>();
    /** Idempotency keys in the order they were first used (oldest first). */
    private LinkedHashMap<String, Remembered> idempotency = new LinkedHashMap<>();
    /**
     * Node id to the index that first recorded that the node ran as a member
     * ({@link KvCommand#memberStarted}); only grows. {@link DataLossGuard} asks for it.
     */
    private TreeMap<String, Long> started = new TreeMap<>();
    private long lastAppliedIndex;

    @Override
    public byte[] apply(long index, byte[] command) {
        lastAppliedIndex = index;
        KvCommand.Idempotent idempotent = KvCommand.decodeIdempotent(command);
        if (idempotent != null) {
            return applyIdempotent(index, idempotent);
        }
        String startedId = KvCommand.decodeMemberStarted(command);
        if (startedId != null) {
            return applyMemberStarted(index, startedId);
        }
        return applyWrite(index, command);
    }

    /** Records that {@code id} ran as a member, once: a repeat answers the first record's index. */
    private byte[] applyMemberStarted(long index, String id) {
        if (id.indexOf('\n') >= 0 || id.isBlank()
                || id.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_MEMBER_ID_BYTES) {
            return KvCommand.result(Outcome.MALFORMED, 0, null);
        }
        Long first = started.putIfAbsent(id, index);
        return KvCommand.result(Outcome.OK, first == null ? index : first, null);
    }

    /**
     * A write under an idempotency key (HTTP {@code Idempotency-Key}): the first is applied and its
     * answer remembered; a repeat of the same write gets that answer (same revision) and changes
     * nothing; another write under the same key is refused. Keys are forgotten after
     * {@link #IDEMPOTENCY_WINDOW_ENTRIES} entries, or oldest first past {@link #MAX_IDEMPOTENCY_KEYS}.
     */
    private byte[] applyIdempotent(long index, KvCommand.Idempotent idempotent) {
        Iterator<Remembered> oldest = idempotency.values().iterator();
        while (oldest.hasNext() && index - oldest.next().index() >= IDEMPOTENCY_WINDOW_ENTRIES) {
            oldest.remove();
        }
        byte[] fingerprint = fingerprint(idempotent.write());
        Remembered first = idempotency.get(idempotent.idempotencyKey());
        if (first != null) {
            return Arrays.equals(first.fingerprint(), fingerprint) ? first.result()
                    : KvCommand.result(Outcome.IDEMPOTENCY_KEY_REUSED, 0, null);
        }
        byte[] result = applyWrite(index, idempotent.write());
        idempotency.put(idempotent.idempotencyKey(), new Remembered(fingerprint, result, index));
        if (idempotency.size() > MAX_IDEMPOTENCY_KEYS) {
            Iterator<Remembered> it = idempotency.values().iterator();
            it.next();
            it.remove();
        }
        return result;
    }

    /** SHA-256 of a write command, cut to 16 bytes: tells a repeat from another write under the same key. */
    private static byte[] fingerprint(byte[] write) {
        try {
            return Arrays.copyOf(java.security.MessageDigest.getInstance("SHA-256").digest(write), 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    private byte[] applyWrite(long index, byte[] command) {
        Write write = KvCommand.decodeWrite(command);
        if (write == null) {
            return KvCommand.result(Outcome.MALFORMED, 0, null);
        }
        if (write.condition() == KvCommand.Condition.NONE && write.op() == KvCommand.Op.PUT) {
            // Nothing to compare: one walk down the map (the put's), not two. The lookup is where
            // the cache misses of a large map are paid, so this is most of an unconditional PUT's cost.
            map.put(write.key(), new Versioned(write.value(), index));
            return KvCommand.result(Outcome.OK, index, null);
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
        if (KvCommand.isStartedMembers(query)) {
            return KvCommand.result(Outcome.OK, 0, KvCommand.encodeStarted(started));
        }
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
        // Bounded (MAX_IDEMPOTENCY_KEYS), so a copy costs at most a few milliseconds.
        List<Map.Entry<String, Remembered>> remembered = new ArrayList<>(idempotency.entrySet());
        // One per node that ever ran: a handful.
        Map<String, Long> startedCopy = new TreeMap<>(started);
        return out -> {
            write(view, applied, out);
            writeIdempotency(remembered, out);
            writeStarted(startedCopy, out);
        };
    }

    /** The members that recorded their start, after the idempotency keys: count, then (id, index). Snapshot thread. */
    private static void writeStarted(Map<String, Long> started, OutputStream out) throws IOException {
        DataOutputStream data = new DataOutputStream(out);
        data.writeInt(started.size());
        for (Map.Entry<String, Long> e : started.entrySet()) {
            data.writeUTF(e.getKey());
            data.writeLong(e.getValue());
        }
        data.flush();
    }

    /** The idempotency keys after the entries: count, then (key, index, fingerprint, result). Snapshot thread. */
    private static void writeIdempotency(List<Map.Entry<String, Remembered>> remembered, OutputStream out)
            throws IOException {
        DataOutputStream data = new DataOutputStream(new java.io.BufferedOutputStream(out, 64 << 10));
        data.writeInt(remembered.size());
        for (Map.Entry<String, Remembered> e : remembered) {
            data.writeUTF(e.getKey());
            data.writeLong(e.getValue().index());
            data.write(e.getValue().fingerprint());
            data.writeInt(e.getValue().result().length);
            data.write(e.getValue().result());
        }
        data.flush();
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
        if (version < 1 || version > SNAPSHOT_VERSION) {
            throw new IOException("KV snapshot version " + version + " is not supported (expected 1 to "
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
        LinkedHashMap<String, Remembered> remembered = new LinkedHashMap<>();
        if (version >= 2) {
            int keys = data.readInt();
            if (keys < 0) {
                throw new IOException("KV snapshot has a negative idempotency key count: " + keys);
            }
            for (int i = 0; i < keys; i++) {
                String key = data.readUTF();
                long index = data.readLong();
                byte[] fingerprint = data.readNBytes(16);
                int length = data.readInt();
                byte[] result = length < 0 ? null : data.readNBytes(length);
                if (fingerprint.length != 16 || result == null || result.length != length) {
                    throw new IOException("KV snapshot ends inside idempotency key " + i + " or has a negative length");
                }
                remembered.put(key, new Remembered(fingerprint, result, index));
            }
        }
        TreeMap<String, Long> startedRestored = new TreeMap<>();
        if (version >= 3) {
            int members = data.readInt();
            if (members < 0) {
                throw new IOException("KV snapshot has a negative started-member count: " + members);
            }
            for (int i = 0; i < members; i++) {
                startedRestored.put(data.readUTF(), data.readLong());
            }
        }
        map = restored;
        idempotency = remembered;
        started = startedRestored;
        lastAppliedIndex = applied;
    }

    /** Idempotency keys remembered; apply thread, or tests once the node is idle. */
    int idempotencyKeys() {
        return idempotency.size();
    }

    /** Number of keys; apply thread, or tests once the node is idle. */
    int size() {
        return map.size();
    }
}
