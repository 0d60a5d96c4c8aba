package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.message.Entry;

/**
 * A real process crash: a child JVM ({@link CrashWriter}) appends and syncs, printing each index
 * it has acknowledged; it is killed with SIGKILL after a random number of acknowledgements, in
 * several rounds on the same directory. After each kill, the reopened log holds every acknowledged
 * entry with the right content, and whatever follows it is whole, contiguous and right too (the
 * kill may land between a write and its sync, or in the middle of a write).
 *
 * <p>Seeded (printed) for the kill points and the child's batch sizes; the exact moment of the
 * kill still depends on the scheduler, which is what makes it a crash test.
 */
class CrashTest {

    /** Small segments and preallocation, so kills also land around segment rolls and zero-filled space. */
    static final SegmentedLogStorage.Options OPTIONS = SegmentedLogStorage.Options.defaults()
            .withSegmentSizeBytes(64 * 1024).withPreallocateBytes(16 * 1024).withWriteBufferBytes(8 * 1024);

    private static final long SEED = 0xDEAD_10CCL;
    private static final int ROUNDS = 5;
    private static final long ROUND_DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(30);

    @TempDir
    Path dir;

    /** The entry the child writes at {@code index}: 0 to 3,000 bytes, depending only on the index. */
    static Entry expected(long index) {
        return TestEntries.entry(index, 1 + index / 500, (int) ((index * 7919) % 3001));
    }

    @Test
    void everyAcknowledgedEntrySurvivesSigkill() throws Exception {
        SplittableRandom random = new SplittableRandom(SEED);
        System.out.printf("crash test: %d rounds, seed %d%n", ROUNDS, SEED);
        long acked = 0;
        for (int round = 0; round < ROUNDS; round++) {
            int acksBeforeKill = 5 + random.nextInt(150);
            acked = Math.max(acked, runAndKill(random.nextLong(), acksBeforeKill));
            try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, OPTIONS)) {
                long last = log.lastIndex();
                assertThat(last).as("round %d: last index vs acknowledged", round).isGreaterThanOrEqualTo(acked);
                for (long from = 1; from <= last; ) {
                    List<Entry> got = log.entries(from, last + 1, 1 << 20);
                    for (Entry e : got) {
                        assertThat(e).as("round %d, index %d", round, e.index()).isEqualTo(expected(e.index()));
                    }
                    from += got.size();
                }
            }
        }
    }

    /** Starts the child, waits for {@code acks} acknowledgements, kills it; returns the highest acknowledged index. */
    private long runAndKill(long childSeed, int acks) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                CrashWriter.class.getName(), dir.toString(), Long.toString(childSeed))
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread pump = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // the child died; the lines read so far are what it acknowledged
            }
        }, "crash-test-stdout");
        pump.start();
        long deadline = System.nanoTime() + ROUND_DEADLINE_NANOS;
        long highest = 0;
        try {
            for (int seen = 0; seen < acks; ) {
                String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (line == null) {
                    throw new AssertionError("the child acknowledged only " + seen + " of " + acks + " batches in time"
                            + (child.isAlive() ? "" : "; it exited with " + child.exitValue()));
                }
                highest = Long.parseLong(line.substring("acked ".length()));
                seen++;
            }
        } finally {
            child.destroyForcibly(); // SIGKILL
            child.waitFor(10, TimeUnit.SECONDS);
            pump.join(10_000);
        }
        // Lines that arrived between the last one counted and the kill were acknowledged too.
        for (String line; (line = lines.poll()) != null; ) {
            highest = Long.parseLong(line.substring("acked ".length()));
        }
        return highest;
    }
}
