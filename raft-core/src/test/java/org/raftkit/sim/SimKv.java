package org.raftkit.sim;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The simulation's state machine: string registers with write and compare-and-set. Commands are
 * {@code W<0>key<0>value} and {@code C<0>key<0>expected<0>value}, with {@code expected} empty
 * meaning "absent". Deterministic, as a state machine must be.
 */
final class SimKv {

    private static final char SEP = '\0';

    private final Map<String, String> values = new HashMap<>();

    static byte[] write(String key, String value) {
        return ("W" + SEP + key + SEP + value).getBytes(StandardCharsets.UTF_8);
    }

    static byte[] compareAndSet(String key, String expected, String value) {
        return ("C" + SEP + key + SEP + (expected == null ? "" : expected) + SEP + value).getBytes(StandardCharsets.UTF_8);
    }

    /** Applies a command; returns "ok" for a write, "true"/"false" for a compare-and-set. */
    String apply(byte[] command) {
        String[] parts = new String(command, StandardCharsets.UTF_8).split(String.valueOf(SEP), -1);
        switch (parts[0]) {
            case "W":
                values.put(parts[1], parts[2]);
                return "ok";
            case "C":
                String expected = parts[2].isEmpty() ? null : parts[2];
                if (java.util.Objects.equals(values.get(parts[1]), expected)) {
                    values.put(parts[1], parts[3]);
                    return "true";
                }
                return "false";
            default:
                throw new IllegalArgumentException("unknown command " + parts[0]);
        }
    }

    String get(String key) {
        return values.get(key);
    }

    /** Every key and value, sorted: equal on two nodes exactly when their states are. */
    String digest() {
        return new java.util.TreeMap<>(values).toString();
    }
}
