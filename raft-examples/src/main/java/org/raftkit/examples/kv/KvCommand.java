package org.raftkit.examples.kv;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The KV store's commands and queries as bytes: what {@code RaftServer.submit} and {@code read}
 * carry, and what {@link KvStateMachine} returns. The format is private to this example; every
 * node decodes what every other node encoded, so it must only change with a version byte.
 *
 * <pre>
 * write command:  op (1 B: PUT=1, DELETE=2) | condition (1 B) | expected revision (8 B)
 *                 | key length (4 B) | key (UTF-8) | value (rest; PUT only)
 * write result:   outcome (1 B) | revision (8 B)
 * idempotent:     op (1 B: IDEMPOTENT=4) | idempotency key length (2 B) | idempotency key (UTF-8)
 *                 | a write command as above (HTTP {@code Idempotency-Key})
 * read query:     op (1 B: GET=3) | key (UTF-8, rest)
 * read answer:    outcome (1 B) | revision (8 B) | value (rest)
 * member started: op (1 B: MEMBER_STARTED=5) | node id (UTF-8, rest); answered OK with the index
 *                 that first recorded it as the revision
 * started query:  op (1 B: STARTED_MEMBERS=6); answered OK with the value
 *                 "id index\n" per member that ever recorded its start, sorted by id
 * </pre>
 */
public final class KvCommand {

    /** What a write does. */
    public enum Op {
        PUT(1), DELETE(2), GET(3),
        /** A write wrapped with the client's idempotency key (see {@link #idempotent}). */
        IDEMPOTENT(4),
        /**
         * A node records that it has run as a member (see {@link DataLossGuard}); written by the
         * node itself, never by the HTTP API.
         */
        MEMBER_STARTED(5),
        /** The query for the members that recorded their start. */
        STARTED_MEMBERS(6);

        final byte code;

        Op(int code) {
            this.code = (byte) code;
        }
    }

    /** The precondition of a write (HTTP {@code If-Match} / {@code If-None-Match}). */
    public enum Condition {
        /** Unconditional. */
        NONE(0),
        /** The key must exist with exactly the expected revision ({@code If-Match: "R"}). */
        REVISION_IS(1),
        /** The key must not exist ({@code If-None-Match: *}). */
        ABSENT(2),
        /** The key must exist, any revision ({@code If-Match: *}). */
        PRESENT(3);

        final byte code;

        Condition(int code) {
            this.code = (byte) code;
        }

        static Condition of(byte code) {
            for (Condition c : values()) {
                if (c.code == code) {
                    return c;
                }
            }
            return null;
        }
    }

    /** How a write or read turned out. */
    public enum Outcome {
        /** Done; the revision is the new one (write) or the key's (read). */
        OK(0),
        /** The condition did not hold; the revision is the key's current one (0 if absent). */
        PRECONDITION_FAILED(1),
        /** The key does not exist (a read, or a delete without a condition). */
        NOT_FOUND(2),
        /** The bytes were not a command this version understands; nothing changed. */
        MALFORMED(3),
        /**
         * The idempotency key was used before with another write; nothing changed (HTTP 422). The
         * revision is 0.
         */
        IDEMPOTENCY_KEY_REUSED(4);

        final byte code;

        Outcome(int code) {
            this.code = (byte) code;
        }

        static Outcome of(byte code) {
            for (Outcome o : values()) {
                if (o.code == code) {
                    return o;
                }
            }
            throw new IllegalArgumentException("unknown outcome code " + code);
        }
    }

    /** A write wrapped with an idempotency key: {@code write} is the encoded write command. */
    public record Idempotent(String idempotencyKey, byte[] write) {
    }

    /** Longest idempotency key, in UTF-8 bytes. */
    public static final int MAX_IDEMPOTENCY_KEY_BYTES = 255;

    /** A decoded write command. {@code value} is null for a delete. */
    public record Write(Op op, Condition condition, long expectedRevision, String key, byte[] value) {
    }

    /** A decoded write result or read answer. {@code value} is null for writes and misses. */
    public record Result(Outcome outcome, long revision, byte[] value) {
    }

    private static final int WRITE_HEADER_BYTES = 1 + 1 + 8 + 4;
    private static final int RESULT_HEADER_BYTES = 1 + 8;

    private KvCommand() {
    }

    /** Encodes a PUT of {@code value} under {@code key}. */
    public static byte[] put(String key, byte[] value, Condition condition, long expectedRevision) {
        return write(Op.PUT, key, ByteBuffer.wrap(value), condition, expectedRevision);
    }

    /**
     * Encodes a PUT of the remaining bytes of {@code value}, copying them once, straight into the
     * command (the HTTP API hands over the request body this way).
     */
    public static byte[] put(String key, ByteBuffer value, Condition condition, long expectedRevision) {
        return write(Op.PUT, key, value, condition, expectedRevision);
    }

    /** Encodes a DELETE of {@code key}. */
    public static byte[] delete(String key, Condition condition, long expectedRevision) {
        return write(Op.DELETE, key, ByteBuffer.allocate(0), condition, expectedRevision);
    }

    /**
     * Wraps an encoded write with the client's idempotency key: the state machine applies the
     * first write under that key and answers a repeat of the same write with the first result.
     *
     * @throws IllegalArgumentException if the key is empty or over {@link #MAX_IDEMPOTENCY_KEY_BYTES}
     */
    public static byte[] idempotent(String idempotencyKey, byte[] write) {
        byte[] k = idempotencyKey.getBytes(StandardCharsets.UTF_8);
        if (k.length == 0 || k.length > MAX_IDEMPOTENCY_KEY_BYTES) {
            throw new IllegalArgumentException("an idempotency key has 1 to " + MAX_IDEMPOTENCY_KEY_BYTES
                    + " bytes, this one " + k.length);
        }
        return ByteBuffer.allocate(1 + 2 + k.length + write.length)
                .put(Op.IDEMPOTENT.code).putShort((short) k.length).put(k).put(write).array();
    }

    /** Decodes an idempotent wrapper, or returns null if the bytes are not one. */
    public static Idempotent decodeIdempotent(byte[] command) {
        if (command.length < 3 || command[0] != Op.IDEMPOTENT.code) {
            return null;
        }
        int length = Short.toUnsignedInt(ByteBuffer.wrap(command, 1, 2).getShort());
        if (length == 0 || length > MAX_IDEMPOTENCY_KEY_BYTES || 3 + length > command.length) {
            return null;
        }
        String key = new String(command, 3, length, StandardCharsets.UTF_8);
        byte[] write = java.util.Arrays.copyOfRange(command, 3 + length, command.length);
        return new Idempotent(key, write);
    }

    /** Encodes the record that node {@code id} has run as a member. */
    public static byte[] memberStarted(String id) {
        byte[] b = id.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + b.length).put(Op.MEMBER_STARTED.code).put(b).array();
    }

    /** The node id a member-started record names, or null if the bytes are not one. */
    public static String decodeMemberStarted(byte[] command) {
        if (command.length < 2 || command[0] != Op.MEMBER_STARTED.code) {
            return null;
        }
        return new String(command, 1, command.length - 1, StandardCharsets.UTF_8);
    }

    /** Encodes the query for the members that recorded their start. */
    public static byte[] startedMembers() {
        return new byte[] {Op.STARTED_MEMBERS.code};
    }

    /** Whether {@code query} is {@link #startedMembers()}. */
    static boolean isStartedMembers(byte[] query) {
        return query.length == 1 && query[0] == Op.STARTED_MEMBERS.code;
    }

    /** Encodes the started members' answer value: "id index\n" per member, in the map's order. */
    static byte[] encodeStarted(Map<String, Long> started) {
        StringBuilder b = new StringBuilder();
        started.forEach((id, index) -> b.append(id).append(' ').append(index).append('\n'));
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Decodes {@link #encodeStarted}: node id to the index that first recorded its start. */
    public static Map<String, Long> decodeStarted(byte[] value) {
        Map<String, Long> started = new TreeMap<>();
        for (String line : new String(value, StandardCharsets.UTF_8).split("\n")) {
            int space = line.lastIndexOf(' ');
            if (space > 0) {
                started.put(line.substring(0, space), Long.parseLong(line.substring(space + 1)));
            }
        }
        return started;
    }

    /** Encodes a GET of {@code key}. */
    public static byte[] get(String key) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + k.length).put(Op.GET.code).put(k).array();
    }

    private static byte[] write(Op op, String key, ByteBuffer value, Condition condition, long expectedRevision) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(WRITE_HEADER_BYTES + k.length + value.remaining())
                .put(op.code).put(condition.code).putLong(expectedRevision)
                .putInt(k.length).put(k).put(value)
                .array();
    }

    /** Decodes a write command, or returns null if the bytes are not one. */
    public static Write decodeWrite(byte[] command) {
        if (command.length < WRITE_HEADER_BYTES) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(command);
        byte opCode = b.get();
        Op op = opCode == Op.PUT.code ? Op.PUT : opCode == Op.DELETE.code ? Op.DELETE : null;
        Condition condition = Condition.of(b.get());
        long expected = b.getLong();
        int keyLength = b.getInt();
        if (op == null || condition == null || keyLength < 0 || keyLength > b.remaining()) {
            return null;
        }
        String key = new String(command, WRITE_HEADER_BYTES, keyLength, StandardCharsets.UTF_8);
        int valueOffset = WRITE_HEADER_BYTES + keyLength;
        byte[] value = null;
        if (op == Op.PUT) {
            value = new byte[command.length - valueOffset];
            System.arraycopy(command, valueOffset, value, 0, value.length);
        } else if (valueOffset != command.length) {
            return null;
        }
        return new Write(op, condition, expected, key, value);
    }

    /** The key a GET query asks for, or null if the bytes are not a GET. */
    public static String decodeGet(byte[] query) {
        if (query.length < 1 || query[0] != Op.GET.code) {
            return null;
        }
        return new String(query, 1, query.length - 1, StandardCharsets.UTF_8);
    }

    /** Encodes a result; {@code value} may be null. */
    public static byte[] result(Outcome outcome, long revision, byte[] value) {
        int valueLength = value == null ? 0 : value.length;
        ByteBuffer b = ByteBuffer.allocate(RESULT_HEADER_BYTES + valueLength).put(outcome.code).putLong(revision);
        if (value != null) {
            b.put(value);
        }
        return b.array();
    }

    /** Decodes a result or answer. A read that found the key has a non-null value. */
    public static Result decodeResult(byte[] bytes) {
        if (bytes.length < RESULT_HEADER_BYTES) {
            throw new IllegalArgumentException("a KV result has at least " + RESULT_HEADER_BYTES
                    + " bytes, got " + bytes.length);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        Outcome outcome = Outcome.of(b.get());
        long revision = b.getLong();
        byte[] value = null;
        if (outcome == Outcome.OK && bytes.length > RESULT_HEADER_BYTES) {
            value = new byte[bytes.length - RESULT_HEADER_BYTES];
            b.get(value);
        } else if (outcome == Outcome.OK) {
            value = new byte[0];
        }
        return new Result(outcome, revision, value);
    }
}
