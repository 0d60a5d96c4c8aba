package org.raftkit.storage.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;
import org.raftkit.storage.FileSnapshotStore;

/**
 * Snapshot write and read throughput of {@link FileSnapshotStore} against the disk's own floor,
 * measured in the same run on the same disk.
 *
 * <pre>
 * SnapshotBench [--mib 64] [--rounds 5] [--chunk-kib 1024] [--dir DIR]
 * </pre>
 * Each round, in turn:
 * <ul>
 * <li><b>write</b>: a snapshot of {@code mib} MiB of random state written through
 *     {@code Writer.body()} in 64 KiB pieces (as a state machine streams its state) and published
 *     (trailer, force, rename, directory force);</li>
 * <li><b>floor write</b>: the same number of bytes written to a new plain file with raw
 *     {@code FileChannel.write} calls of 256 KiB (the store's buffer size), then one
 *     {@code force(true)}; no checksum;</li>
 * <li><b>read</b>: the published file read back with {@code readChunk} in chunks of
 *     {@code chunk-kib} KiB, as InstallSnapshot sends it;</li>
 * <li><b>floor read</b>: the floor file read with raw positional reads of the same size;</li>
 * <li><b>verify</b>: {@code list()}, which reads every byte of the snapshot and checks its CRC32C.</li>
 * </ul>
 * Reads come from the page cache (the file was just written); they measure the store's own cost,
 * not the disk's. Files go to a fresh directory under {@code --dir} (default: the system temporary
 * directory), deleted at the end. Prints one JSON line on stdout with the median of the rounds of
 * each, in MB/s (10^6 bytes of state per second); a bad flag prints one line naming it and exits 2.
 */
public final class SnapshotBench {

    private static final int BODY_PIECE_BYTES = 64 << 10;
    private static final int FLOOR_WRITE_BYTES = 256 << 10;

    private SnapshotBench() {
    }

    /** Runs the benchmark; see the class comment for the flags and the output. */
    public static void main(String[] args) throws IOException {
        BenchArgs a = BenchArgs.parse("SnapshotBench", args, Set.of("--mib", "--rounds", "--chunk-kib", "--dir"),
                Set.of());
        int mib = (int) a.positive("--mib", 64);
        int rounds = (int) a.positive("--rounds", 5);
        int chunkBytes = (int) a.positive("--chunk-kib", 1024) << 10;
        if (mib > 1024 || chunkBytes > (64 << 20)) {
            a.fail("--mib is at most 1024 and --chunk-kib at most 65536");
        }
        Path parent = Path.of(a.text("--dir", System.getProperty("java.io.tmpdir")));
        Path work = Files.createTempDirectory(Files.createDirectories(parent), "snapshotbench-");
        try {
            System.out.println(run(work, mib, rounds, chunkBytes));
        } finally {
            LogBench.deleteTree(work);
        }
    }

    private static String run(Path work, int mib, int rounds, int chunkBytes) throws IOException {
        byte[] state = new byte[mib << 20];
        new SplittableRandom(42).nextBytes(state);
        double[] write = new double[rounds];
        double[] floorWrite = new double[rounds];
        double[] read = new double[rounds];
        double[] floorRead = new double[rounds];
        double[] verify = new double[rounds];
        Path floorFile = work.resolve("floor.bin");
        try (FileSnapshotStore store = FileSnapshotStore.open(work.resolve("snapshots"),
                FileSnapshotStore.Options.defaults().withKeepSnapshots(1))) {
            for (int round = 0; round < rounds; round++) {
                long t = System.nanoTime();
                SnapshotInfo info = writeSnapshot(store, round + 1, state);
                write[round] = mbPerSecond(state.length, t);

                t = System.nanoTime();
                writeFloor(floorFile, state);
                floorWrite[round] = mbPerSecond(state.length, t);

                t = System.nanoTime();
                long n = 0;
                for (long at = 0; at < info.sizeBytes(); at += chunkBytes) {
                    n += store.readChunk(info, at, chunkBytes).length;
                }
                read[round] = mbPerSecond(n, t);

                t = System.nanoTime();
                n = readFloor(floorFile, chunkBytes);
                floorRead[round] = mbPerSecond(n, t);

                t = System.nanoTime();
                List<SnapshotInfo> listed = store.list();
                verify[round] = mbPerSecond(listed.get(0).sizeBytes(), t);
                Files.delete(floorFile);
            }
        }
        return String.format(Locale.ROOT, "{\"mib\":%d,\"rounds\":%d,\"chunkBytes\":%d,\"mbPerSecond\":{"
                        + "\"write\":%.1f,\"floorWrite\":%.1f,\"read\":%.1f,\"floorRead\":%.1f,\"verify\":%.1f},"
                        + "\"writeOverFloor\":%.2f,\"readOverFloor\":%.2f}",
                mib, rounds, chunkBytes, median(write), median(floorWrite), median(read), median(floorRead),
                median(verify), median(ratios(write, floorWrite)), median(ratios(read, floorRead)));
    }

    private static SnapshotInfo writeSnapshot(SnapshotStore store, long index, byte[] state) throws IOException {
        try (SnapshotStore.Writer w = store.begin(index, 1, org.raftkit.core.Configuration.ofVoters(List.of("n1", "n2", "n3")))) {
            OutputStream body = w.body();
            for (int at = 0; at < state.length; at += BODY_PIECE_BYTES) {
                body.write(state, at, Math.min(BODY_PIECE_BYTES, state.length - at));
            }
            return w.publish();
        }
    }

    /** The raw disk: plain writes to a new file, one force at the end. */
    private static void writeFloor(Path file, byte[] state) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int at = 0; at < state.length; at += FLOOR_WRITE_BYTES) {
                ByteBuffer b = ByteBuffer.wrap(state, at, Math.min(FLOOR_WRITE_BYTES, state.length - at));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            ch.force(true);
        }
    }

    private static long readFloor(Path file, int chunkBytes) throws IOException {
        long n = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            for (long at = 0; at < size; at += chunkBytes) {
                ByteBuffer b = ByteBuffer.allocate((int) Math.min(chunkBytes, size - at));
                while (b.hasRemaining() && ch.read(b, at + b.position()) >= 0) {
                    // positional reads may return short; go on until the chunk is full
                }
                n += b.position();
            }
        }
        return n;
    }

    private static double mbPerSecond(long bytes, long startNanos) {
        return bytes * 1e3 / (System.nanoTime() - startNanos);
    }

    private static double[] ratios(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / b[i];
        }
        return r;
    }

    private static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
