package org.raftkit.storage.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

import org.raftkit.message.Entry;
import org.raftkit.storage.SegmentedLogStorage;

/**
 * The log at scale: heap held with many entries, recovery time of a large log, and read-back
 * speed after a reopen.
 *
 * <pre>
 * ScaleBench [--entries 10000000] [--payload 100] [--read 1000000] [--dir DIR] [--reuse]
 * </pre>
 * Writes {@code entries} entries in synced batches of 1,000 into {@code DIR/scale-log} (default
 * under the system temporary directory; left in place for a second run), then measures the heap
 * in use after a full GC against the heap before opening, and the storage's own count of its
 * index and cache; closes; opens again, timing recovery (every record read and checked); and reads
 * the first {@code read} entries back in 1 MiB requests (all from disk: the cache starts empty).
 * {@code --reuse} skips the writing and measures an existing log, e.g. after dropping it from the
 * page cache. Prints one JSON line.
 */
public final class ScaleBench {

    private ScaleBench() {
    }

    /** Runs it; see the class comment. */
    public static void main(String[] args) throws IOException {
        BenchArgs a = BenchArgs.parse("ScaleBench", args, Set.of("--entries", "--payload", "--read", "--dir"),
                Set.of("--reuse"));
        long entries = a.positive("--entries", 10_000_000);
        int payload = (int) a.positive("--payload", 100);
        long read = a.positive("--read", 1_000_000);
        Path dir = Path.of(a.text("--dir", System.getProperty("java.io.tmpdir"))).resolve("scale-log");

        long heapBefore = usedHeapAfterGc();
        double writeSeconds = 0;
        long heapWithLog = 0;
        long[] storageHeap = {0, 0};
        if (!a.has("--reuse")) {
            try (SegmentedLogStorage log = SegmentedLogStorage.open(dir)) {
                if (log.lastIndex() != 0) {
                    a.fail(dir + " already holds a log; delete it or pass --reuse");
                }
                byte[] data = new byte[payload];
                long start = System.nanoTime();
                for (long next = 1; next <= entries; ) {
                    List<Entry> batch = new ArrayList<>(1000);
                    for (int i = 0; i < 1000 && next <= entries; i++) {
                        batch.add(Entry.command(next, 1 + next / 1_000_000, data));
                        next++;
                    }
                    log.append(batch);
                    log.sync();
                }
                writeSeconds = (System.nanoTime() - start) / 1e9;
                heapWithLog = usedHeapAfterGc() - heapBefore;
                storageHeap = log.heapBytes();
            }
        }
        long logBytes = sizeOf(dir);
        long start = System.nanoTime();
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir)) {
            double recoverySeconds = (System.nanoTime() - start) / 1e9;
            long heapAfterReopen = usedHeapAfterGc() - heapBefore;
            long[] indexAfterReopen = log.heapBytes();
            long last = Math.min(log.lastIndex(), read);
            start = System.nanoTime();
            long got = 0;
            for (long from = 1; from <= last; ) {
                List<Entry> chunk = log.entries(from, last + 1, 1 << 20);
                from += chunk.size();
                got += chunk.size();
            }
            double readSeconds = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "{\"entries\":%d,\"payloadBytes\":%d,\"logBytes\":%d,\"writeSeconds\":%.1f,"
                            + "\"heapBytesWithLogOpen\":%d,\"storageIndexBytes\":%d,\"storageCacheBytes\":%d,"
                            + "\"heapBytesAfterReopen\":%d,\"indexBytesAfterReopen\":%d,"
                            + "\"recoverySeconds\":%.2f,\"recoveryMBPerSecond\":%.0f,"
                            + "\"readBackEntries\":%d,\"readBackSeconds\":%.2f,\"readBackEntriesPerSecond\":%.0f}%n",
                    log.lastIndex(), payload, logBytes, writeSeconds, heapWithLog, storageHeap[0], storageHeap[1],
                    heapAfterReopen, indexAfterReopen[0], recoverySeconds, logBytes / 1e6 / recoverySeconds,
                    got, readSeconds, got / readSeconds);
        }
    }

    private static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static long sizeOf(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            long total = 0;
            for (Path p : s.toList()) {
                total += Files.size(p);
            }
            return total;
        }
    }
}
