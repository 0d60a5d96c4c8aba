package org.raftkit.storage.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

import org.raftkit.message.Entry;
import org.raftkit.storage.SegmentedLogStorage;

/**
 * Append-and-sync throughput of {@link SegmentedLogStorage} against the disk's own floor, measured
 * in the same run on the same disk.
 *
 * <pre>
 * LogBench [--payload 128] [--batch 64] [--seconds 10] [--dir DIR] [--floor append|preallocated]
 * </pre>
 * Each round appends {@code batch} entries of {@code payload} bytes and syncs once, as the
 * runtime's storage thread does with a group. The floor writes the same bytes (header-sized
 * framing included, so the same bytes per entry) with one raw {@code FileChannel.write} and one
 * {@code force(false)} per batch into a plain file that grows ({@code --floor append}, default) or
 * into one zero-filled ahead in 1 MiB steps as the log does ({@code --floor preallocated}). The
 * two alternate in one-second slices after a one-second warm-up of each, so a load spike from
 * elsewhere hits both. Files go to a fresh directory under {@code --dir} (default: the system
 * temporary directory), deleted at the end.
 *
 * <p>Prints one JSON line on stdout:
 * {@code {"payloadBytes":128,"batch":64,"entriesPerSecond":X,"mbPerSecond":Y,
 * "batchLatencyMicros":{"p50":…,"p99":…},"floor":{"entriesPerSecond":F,"mbPerSecond":G}}};
 * megabytes are 10^6 bytes of payload. A bad flag prints one line naming it and exits with 2.
 */
public final class LogBench {

    private static final long SLICE_NANOS = 1_000_000_000L;
    private static final int FRAMING_BYTES = 33; // RecordFormat.HEADER_BYTES, so the floor writes as many bytes
    private static final int PREALLOCATE_STEP_BYTES = 1 << 20;

    private LogBench() {
    }

    /** Runs the benchmark; see the class comment for the flags and the output. */
    public static void main(String[] args) throws IOException {
        BenchArgs a = BenchArgs.parse("LogBench", args, Set.of("--payload", "--batch", "--seconds", "--dir", "--floor"),
                Set.of());
        int payload = (int) a.positive("--payload", 128);
        int batch = (int) a.positive("--batch", 64);
        long seconds = a.positive("--seconds", 10);
        String floorMode = a.text("--floor", "append");
        if (!floorMode.equals("append") && !floorMode.equals("preallocated")) {
            a.fail("flag --floor takes append or preallocated, got \"" + floorMode + "\"");
        }
        Path parent = Path.of(a.text("--dir", System.getProperty("java.io.tmpdir")));
        Path work = Files.createTempDirectory(Files.createDirectories(parent), "logbench-");
        try {
            System.out.println(run(work, payload, batch, seconds, floorMode.equals("preallocated")));
        } finally {
            deleteTree(work);
        }
    }

    private static String run(Path work, int payload, int batch, long seconds, boolean preallocatedFloor)
            throws IOException {
        byte[] data = new byte[payload];
        Arrays.fill(data, (byte) 0x5a);
        ByteBuffer floorBytes = ByteBuffer.allocateDirect(batch * (FRAMING_BYTES + payload));
        long[] latencies = new long[1 << 16];
        int latencyCount = 0;
        long logEntries = 0;
        long logNanos = 0;
        long floorEntries = 0;
        long floorNanos = 0;
        try (SegmentedLogStorage log = SegmentedLogStorage.open(work.resolve("log"));
             Floor floor = new Floor(work.resolve("floor.bin"), preallocatedFloor)) {
            long next = 1;
            for (int slice = -1; slice < seconds; slice++) { // slice -1 warms up both
                long start = System.nanoTime();
                long end = start + SLICE_NANOS;
                long entries = 0;
                while (System.nanoTime() - end < 0) {
                    long t = System.nanoTime();
                    List<Entry> entriesOfBatch = new ArrayList<>(batch);
                    for (int i = 0; i < batch; i++) {
                        entriesOfBatch.add(Entry.command(next++, 1, data));
                    }
                    log.append(entriesOfBatch);
                    log.sync();
                    if (slice >= 0) {
                        if (latencyCount == latencies.length) {
                            latencies = Arrays.copyOf(latencies, latencyCount * 2);
                        }
                        latencies[latencyCount++] = System.nanoTime() - t;
                    }
                    entries += batch;
                }
                if (slice >= 0) {
                    logEntries += entries;
                    logNanos += System.nanoTime() - start;
                }
                start = System.nanoTime();
                end = start + SLICE_NANOS;
                entries = 0;
                while (System.nanoTime() - end < 0) {
                    floor.writeAndForce(floorBytes);
                    entries += batch;
                }
                if (slice >= 0) {
                    floorEntries += entries;
                    floorNanos += System.nanoTime() - start;
                }
            }
        }
        Arrays.sort(latencies, 0, latencyCount);
        double logRate = logEntries * 1e9 / logNanos;
        double floorRate = floorEntries * 1e9 / floorNanos;
        return String.format(Locale.ROOT, "{\"payloadBytes\":%d,\"batch\":%d,\"entriesPerSecond\":%.1f,"
                        + "\"mbPerSecond\":%.2f,\"batchLatencyMicros\":{\"p50\":%.1f,\"p99\":%.1f},"
                        + "\"floor\":{\"entriesPerSecond\":%.1f,\"mbPerSecond\":%.2f}}",
                payload, batch, logRate, logRate * payload / 1e6, percentile(latencies, latencyCount, 50) / 1e3,
                percentile(latencies, latencyCount, 99) / 1e3, floorRate, floorRate * payload / 1e6);
    }

    private static long percentile(long[] sorted, int count, int p) {
        return count == 0 ? 0 : sorted[(int) Math.min(count - 1, (long) count * p / 100)];
    }

    /** The raw disk: one positional write and one force(false) per batch, at the end of a file. */
    private static final class Floor implements AutoCloseable {

        private final FileChannel channel;
        private final boolean preallocate;
        private final ByteBuffer zeros = ByteBuffer.allocateDirect(PREALLOCATE_STEP_BYTES);
        private long position;
        private long allocated;

        Floor(Path file, boolean preallocate) throws IOException {
            this.channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            this.preallocate = preallocate;
        }

        void writeAndForce(ByteBuffer bytes) throws IOException {
            int n = bytes.capacity();
            while (preallocate && position + n > allocated) {
                zeros.clear();
                while (zeros.hasRemaining()) {
                    channel.write(zeros, allocated + zeros.position());
                }
                allocated += PREALLOCATE_STEP_BYTES;
            }
            bytes.clear();
            while (bytes.hasRemaining()) {
                channel.write(bytes, position + bytes.position());
            }
            position += n;
            channel.force(false);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
