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

    private SimKv kv = new SimKv();
    /** Index of the last command applied (or of the snapshot restored). */
    private long lastIndex;

    @Override
    public byte[] apply(long index, byte[] command) {
        lastIndex = index;
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

    long lastIndex() {
        return lastIndex;
    }

    /** Captures a copy of the registers; written later, off the apply loop, as the digest's text. */
    @Override
    public Snapshot snapshot() {
        String state = lastIndex + "\n" + kv.encode();
        return out -> out.write(state.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void restore(java.io.InputStream in) throws java.io.IOException {
        String state = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        int newline = state.indexOf('\n');
        lastIndex = Long.parseLong(state.substring(0, newline));
        kv = SimKv.decode(state.substring(newline + 1));
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
