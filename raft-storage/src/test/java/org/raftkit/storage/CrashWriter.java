package org.raftkit.storage;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.raftkit.message.Entry;

/**
 * The child process of {@link CrashTest}: appends batches of entries whose content depends only on
 * their index ({@link CrashTest#expected}), syncs each batch, and prints {@code acked <lastIndex>}
 * once the sync has returned, until it is killed. Gives up by itself after 60 s, so an orphan
 * cannot outlive a broken test run for long.
 */
public final class CrashWriter {

    private CrashWriter() {
    }

    /** Arguments: the log directory and a seed for the batch sizes. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        SplittableRandom random = new SplittableRandom(Long.parseLong(args[1]));
        long deadline = System.nanoTime() + 60_000_000_000L;
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, CrashTest.OPTIONS)) {
            long next = log.lastIndex() + 1;
            while (System.nanoTime() - deadline < 0) {
                List<Entry> batch = new ArrayList<>();
                for (int n = 1 + random.nextInt(20); n > 0; n--) {
                    batch.add(CrashTest.expected(next++));
                }
                log.append(batch);
                log.sync();
                System.out.println("acked " + (next - 1));
                System.out.flush();
            }
        }
    }
}
