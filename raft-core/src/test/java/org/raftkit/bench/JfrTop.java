package org.raftkit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import jdk.jfr.consumer.RecordedClass;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * Summarises a Java Flight Recorder file of a benchmark run: where one thread's CPU samples and
 * allocations go, by method. JDK 17's {@code jfr} tool prints events but does not aggregate them.
 *
 * <p>For CPU it counts {@code jdk.ExecutionSample} events; for allocation it weighs
 * {@code jdk.ObjectAllocationSample} events by their bytes. Each is reported three ways: by the
 * top frame ("self"), by the first frame in RaftKit's main code (core, memory, message, spi:
 * samples with none are charged to "(driver) " plus their top frame), and inclusively.
 *
 * <p>Usage: {@code JfrTop FILE.jfr [--thread SUBSTRING] [--top N]}; the thread defaults to
 * {@code CoreBenchmark}, which matches the thread exec:java runs the benchmark on, and "main" when
 * the benchmark is started with plain {@code java}. See docs/BENCHMARKS.md.
 */
public final class JfrTop {

    private static final String RAFTKIT = "org.raftkit.";
    private static final String DRIVER = "org.raftkit.bench.";

    private final Tally cpu = new Tally();
    private final Tally allocation = new Tally();

    private JfrTop() {
    }

    /** Prints the summary of one recording; exits with 2 on bad arguments, 1 if the thread had no samples. */
    public static void main(String[] args) throws IOException {
        Path file = null;
        String thread = "CoreBenchmark";
        int top = 25;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--thread" -> thread = value(args, ++i, "--thread");
                case "--top" -> top = Math.max(1, Integer.parseInt(value(args, ++i, "--top")));
                default -> file = Path.of(args[i]);
            }
        }
        if (file == null || !Files.isRegularFile(file)) {
            System.err.println("usage: JfrTop FILE.jfr [--thread SUBSTRING] [--top N]");
            System.exit(2);
            return;
        }
        JfrTop t = new JfrTop();
        t.read(file, thread);
        if (t.cpu.total == 0 && t.allocation.total == 0) {
            System.err.println("JfrTop: no samples on a thread whose name contains '" + thread + "'"
                    + (thread.equals("CoreBenchmark") ? " (for a plain java run, try --thread main)" : ""));
            System.exit(1);
            return;
        }
        t.cpu.print("CPU samples", top, false);
        t.allocation.print("allocated bytes (sampled)", top, true);
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args[i];
    }

    private void read(Path file, String threadPart) throws IOException {
        try (RecordingFile recording = new RecordingFile(file)) {
            while (recording.hasMoreEvents()) {
                RecordedEvent e = recording.readEvent();
                String type = e.getEventType().getName();
                if (type.equals("jdk.ExecutionSample")) {
                    if (onThread(e, "sampledThread", threadPart)) {
                        cpu.add(e.getStackTrace(), null, 1);
                    }
                } else if (type.equals("jdk.ObjectAllocationSample")) {
                    if (onThread(e, "eventThread", threadPart)) {
                        RecordedClass c = e.getClass("objectClass");
                        allocation.add(e.getStackTrace(), c == null ? "?" : c.getName(), e.getLong("weight"));
                    }
                }
            }
        }
    }

    private static boolean onThread(RecordedEvent e, String field, String part) {
        if (!e.hasField(field)) {
            return false;
        }
        RecordedThread t = e.getValue(field);
        String name = t == null ? null : t.getJavaName();
        return name != null && name.contains(part);
    }

    private static String name(RecordedFrame f) {
        RecordedMethod m = f.getMethod();
        String type = m.getType().getName();
        return type.substring(type.lastIndexOf('.') + 1) + "#" + m.getName();
    }

    /** Weights by top frame, by first RaftKit frame, and inclusively. */
    private static final class Tally {
        final Map<String, Long> self = new HashMap<>();
        final Map<String, Long> raftkit = new HashMap<>();
        final Map<String, Long> inclusive = new HashMap<>();
        long total;

        void add(RecordedStackTrace stack, String allocatedClass, long weight) {
            if (stack == null || stack.getFrames().isEmpty()) {
                return;
            }
            List<RecordedFrame> frames = stack.getFrames();
            total += weight;
            String top = name(frames.get(0));
            self.merge(allocatedClass == null ? top : allocatedClass + " <- " + top, weight, Long::sum);
            String first = null;
            for (RecordedFrame f : frames) {
                String type = f.getMethod().getType().getName();
                if (type.startsWith(RAFTKIT) && !type.startsWith(DRIVER)) {
                    first = name(f);
                    break;
                }
            }
            raftkit.merge(first == null ? "(driver) " + top : first, weight, Long::sum);
            Set<String> seen = new HashSet<>();
            for (RecordedFrame f : frames) {
                String n = name(f);
                if (seen.add(n)) {
                    inclusive.merge(n, weight, Long::sum);
                }
            }
        }

        void print(String what, int top, boolean bytes) {
            System.out.printf(Locale.ROOT, "== %s: %d%s%n", what, total, bytes ? " bytes" : "");
            print("self (top frame)", self, top);
            print("first RaftKit frame", raftkit, top);
            print("inclusive", inclusive, top);
        }

        private void print(String title, Map<String, Long> m, int top) {
            System.out.println("-- " + title);
            List<Map.Entry<String, Long>> rows = new ArrayList<>(m.entrySet());
            rows.sort(Map.Entry.<String, Long>comparingByValue().reversed());
            for (Map.Entry<String, Long> row : rows.subList(0, Math.min(top, rows.size()))) {
                System.out.printf(Locale.ROOT, "%6.1f%%  %s%n", 100.0 * row.getValue() / total, row.getKey());
            }
        }
    }
}
