package org.raftkit.runtime;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.raftkit.StateMachine;

/**
 * A state machine for tests: records each applied command as {@code "index=command"}.
 * {@code apply} returns {@code "index:command"}; the command {@code "boom"} throws.
 * Queries: {@code "last"} (the last command, or ""), {@code "count"}, {@code "boom"} throws.
 * {@link #closeGate()} makes {@code apply} wait until {@link #openGate()}.
 */
public final class RecordingStateMachine implements StateMachine {

    private final List<String> applied = new ArrayList<>();
    private volatile CountDownLatch gate;
    private volatile boolean applying;

    /** UTF-8 bytes of {@code s}. */
    public static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code b} decoded as UTF-8. */
    public static String string(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @Override
    public byte[] apply(long index, byte[] command) {
        applying = true;
        try {
            CountDownLatch g = gate;
            if (g != null) {
                awaitGate(g);
            }
            String c = string(command);
            if (c.equals("boom")) {
                throw new IllegalStateException("boom at " + index);
            }
            synchronized (this) {
                applied.add(index + "=" + c);
            }
            return bytes(index + ":" + c);
        } finally {
            applying = false;
        }
    }

    @Override
    public byte[] query(byte[] query) {
        String q = string(query);
        synchronized (this) {
            switch (q) {
                case "last":
                    return bytes(applied.isEmpty() ? "" : applied.get(applied.size() - 1).replaceFirst("^\\d+=", ""));
                case "count":
                    return bytes(Integer.toString(applied.size()));
                case "boom":
                    throw new IllegalArgumentException("bad query");
                default:
                    return bytes("?");
            }
        }
    }

    /** Every applied command so far, as {@code "index=command"}, in order. */
    public synchronized List<String> applied() {
        return List.copyOf(applied);
    }

    /** Commands only, in order. */
    public synchronized List<String> commands() {
        List<String> out = new ArrayList<>();
        for (String s : applied) {
            out.add(s.replaceFirst("^\\d+=", ""));
        }
        return out;
    }

    /** From now on, {@code apply} waits for {@link #openGate()}. */
    public void closeGate() {
        gate = new CountDownLatch(1);
    }

    /** Lets waiting and later applies through. */
    public void openGate() {
        CountDownLatch g = gate;
        gate = null;
        if (g != null) {
            g.countDown();
        }
    }

    /** Whether a call to apply is under way (e.g. waiting at the gate). */
    public boolean isApplying() {
        return applying;
    }

    private static void awaitGate(CountDownLatch g) {
        try {
            // Bounded, so a test that forgets to open the gate fails instead of hanging.
            if (!g.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("gate never opened");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted at the gate", e);
        }
    }
}
