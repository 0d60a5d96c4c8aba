package org.raftkit.sim;

import java.nio.charset.StandardCharsets;

import org.raftkit.StateMachine;

/**
 * The whole-node simulation's state machine: {@link SimKv}'s registers behind the real
 * {@link StateMachine} interface. A write's result names the index it was applied at and the value
 * it wrote, so a client can check that its future completed with its own command's result.
 * A query is a key; the answer is {@code =value}, or {@code -} when the key is absent.
 */
final class NodeKvMachine implements StateMachine {

    private final SimKv kv = new SimKv();

    @Override
    public byte[] apply(long index, byte[] command) {
        String result = kv.apply(command);
        String[] parts = new String(command, StandardCharsets.UTF_8).split("\0", -1);
        String written = parts[parts.length - 1];
        return (index + "|" + written + "|" + result).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] query(byte[] query) {
        String value = kv.get(new String(query, StandardCharsets.UTF_8));
        return (value == null ? "-" : "=" + value).getBytes(StandardCharsets.UTF_8);
    }

    String digest() {
        return kv.digest();
    }

    /** A write's result: where it was applied, what it wrote, and the register's answer. */
    record WriteResult(long index, String written, String result) {
        static WriteResult parse(byte[] bytes) {
            String[] parts = new String(bytes, StandardCharsets.UTF_8).split("\\|", 3);
            return new WriteResult(Long.parseLong(parts[0]), parts[1], parts[2]);
        }
    }

    /** A query's answer as a value, null when absent. */
    static String value(byte[] answer) {
        String s = new String(answer, StandardCharsets.UTF_8);
        return s.startsWith("=") ? s.substring(1) : null;
    }
}
