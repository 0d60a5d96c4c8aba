package org.raftkit.storage;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.message.Entry;
import org.raftkit.storage.DiskModel.PageFate;
import org.raftkit.storage.PowerLossDisk.Event;

/**
 * Power loss at every kind of moment: a seeded workload (appends of every size, syncs, truncations,
 * compactions, restarts) runs on a {@link PowerLossDisk}; then, at random points of what it did,
 * {@link DiskModel} builds the disks a power loss there could leave (unsynced pages kept, lost or
 * torn at sectors, unsynced directory changes done or not). Each must open and hold every
 * acknowledged entry and nothing that was not appended at its index ({@link RecordedLog#check}).
 * From each, a second power loss strikes during the open's own repairs, and that disk must open
 * and hold the same.
 *
 * <p>The workload also kills its process (as kill -9 would: the write buffer is lost, the page
 * cache is not) and restarts it, so images also come from a power loss after such a restart.
 *
 * <p>{@code -Dpowerloss.seed} (first seed, default 1) and {@code -Dpowerloss.seeds} (how many,
 * default {@value #DEFAULT_SEEDS}) choose the workloads; each seed decides everything in its run,
 * so a failing one replays alone (the failure prints the command). docs/TESTING.md has more.
 */
class PowerLossTest {

    private static final int DEFAULT_SEEDS = 40;
    private static final int POINTS_PER_SEED = 40;
    private static final int IMAGES_PER_POINT = 3;
    private static final int MAX_FAILURES_SHOWN = 5;

    @TempDir
    Path tmp;

    private int images;
    private int secondImages;

    @Test
    void everyCrashImageOpensWithEveryAcknowledgedEntry() throws IOException {
        long firstSeed = Long.getLong("powerloss.seed", 1);
        int seeds = Integer.getInteger("powerloss.seeds", DEFAULT_SEEDS);
        long start = System.nanoTime();
        List<String> failures = new ArrayList<>();
        for (long seed = firstSeed; seed < firstSeed + seeds; seed++) {
            String failure = runSeed(seed);
            if (failure != null) {
                failures.add("FAILED seed=" + seed + ": " + failure + "\n  replay: mvn -B -q -pl raft-storage -am test"
                        + " -Dtest=PowerLossTest -Dsurefire.failIfNoSpecifiedTests=false -Dpowerloss.seed=" + seed
                        + " -Dpowerloss.seeds=1");
            }
        }
        System.out.printf("POWER LOSS seeds=%d failures=%d (first seed %d; %d crash images, %d second-crash images;"
                + " %d ms)%n", seeds, failures.size(), firstSeed, images, secondImages,
                (System.nanoTime() - start) / 1_000_000);
        if (!failures.isEmpty()) {
            failures.forEach(System.out::println);
            fail(failures.size() + " of " + seeds + " seeds failed:\n"
                    + String.join("\n", failures.subList(0, Math.min(MAX_FAILURES_SHOWN, failures.size()))));
        }
    }

    /** One workload and its crash images; the first failure, or null. */
    private String runSeed(long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        Path work = Files.createDirectories(tmp.resolve("work-" + seed));
        Path first = Files.createDirectories(tmp.resolve("first"));
        Path second = Files.createDirectories(tmp.resolve("second"));
        SegmentedLogStorage.Options options = SegmentedLogStorage.Options.defaults()
                .withSegmentSizeBytes(8192).withWriteBufferBytes(4096).withCacheBytes(0)
                .withPreallocateBytes(random.nextBoolean() ? 0 : 4096);
        RecordedLog recorded = new RecordedLog(work, options, List.of(), 0);
        try (recorded) {
            runWorkload(recorded, random);
        }
        List<Event> journal = recorded.disk().journal();
        TreeSet<Integer> points = new TreeSet<>();
        for (int i = 0; i < POINTS_PER_SEED; i++) {
            points.add(random.nextInt(journal.size() + 1));
        }
        DiskModel model = recorded.disk().initial();
        int applied = 0;
        for (int point : points) {
            while (applied < point) {
                model.apply(journal.get(applied++));
            }
            int variants = model.anythingUnsynced() ? IMAGES_PER_POINT : 1;
            for (int v = 0; v < variants; v++) {
                long fatesSeed = random.nextLong();
                String where = "crash after event " + point + " of " + journal.size()
                        + (point > 0 ? " (" + describe(journal.get(point - 1)) + ")" : "") + ", fates " + fatesSeed;
                String failure = crashAndCheck(recorded, point, model.crashImage(randomFates(fatesSeed)), first, second,
                        options, random, where);
                if (failure != null) {
                    return failure;
                }
            }
        }
        return null;
    }

    /** Opens one crash image, checks it, then crashes again during that open's repairs and checks that. */
    private String crashAndCheck(RecordedLog recorded, int point, Map<String, byte[]> image, Path first, Path second,
                                 SegmentedLogStorage.Options options, SplittableRandom random, String where)
            throws IOException {
        images++;
        DiskModel.materialize(image, first);
        PowerLossDisk reopenDisk = PowerLossDisk.recording(first);
        int recoveryEvents;
        try (SegmentedLogStorage log = SegmentedLogStorage.open(first, options.withChannelFactory(reopenDisk))) {
            recoveryEvents = reopenDisk.position();
            String wrong = recorded.check(log, point);
            if (wrong != null) {
                return where + ": " + wrong;
            }
        } catch (IOException | RuntimeException e) {
            return where + ": open failed: " + e;
        }
        if (recoveryEvents == 0) {
            return null;
        }
        // The second crash: somewhere in the open's own repairs and forces.
        int secondPoint = random.nextInt(recoveryEvents + 1);
        DiskModel model = reopenDisk.initial();
        for (int i = 0; i < secondPoint; i++) {
            model.apply(reopenDisk.journal().get(i));
        }
        long fatesSeed = random.nextLong();
        secondImages++;
        DiskModel.materialize(model.crashImage(randomFates(fatesSeed)), second);
        String again = where + ", then during recovery after event " + secondPoint + " of " + recoveryEvents
                + " (fates " + fatesSeed + ")";
        try (SegmentedLogStorage log = SegmentedLogStorage.open(second,
                options.withChannelFactory(PowerLossDisk.recording(second)))) {
            String wrong = recorded.check(log, point);
            return wrong == null ? null : again + ": " + wrong;
        } catch (IOException | RuntimeException e) {
            return again + ": open failed: " + e;
        }
    }

    /** Appends of every size (some bigger than the buffer or a segment), syncs, truncations, compactions, restarts, kills. */
    private static void runWorkload(RecordedLog log, SplittableRandom random) throws IOException {
        long term = 1;
        int ops = 30 + random.nextInt(40);
        for (int op = 0; op < ops; op++) {
            int r = random.nextInt(100);
            long next = log.lastIndex() + 1;
            if (r < 55) {
                log.append(TestEntries.randomSizes(next, 1 + random.nextInt(6), term, 1200, random));
                if (random.nextInt(5) > 0) {
                    log.sync();
                }
            } else if (r < 62) {
                log.append(List.of(TestEntries.entry(next, term, 4000 + random.nextInt(6000))));
            } else if (r < 72) {
                log.sync();
            } else if (r < 82) {
                long first = log.log().firstIndex();
                if (log.lastIndex() >= first) {
                    long from = Math.max(first, log.lastIndex() - random.nextInt(15));
                    term++;
                    log.truncateSuffix(from);
                }
            } else if (r < 90) {
                long first = log.log().firstIndex();
                if (log.required() >= first) {
                    log.compactPrefix(first + random.nextLong(log.required() - first + 1));
                }
            } else if (r < 95) {
                log.reopen();
            } else {
                log.killAndReopen();
            }
        }
    }

    /** Each page kept, lost or torn, each sector, size and directory operation either way, all from one seed. */
    static DiskModel.Fates randomFates(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        return new DiskModel.Fates() {
            @Override
            public PageFate page(String name, long pageIndex) {
                return PageFate.values()[r.nextInt(3)];
            }

            @Override
            public boolean sectorWritten(String name, long sectorIndex) {
                return r.nextBoolean();
            }

            @Override
            public boolean newSize(String name) {
                return r.nextBoolean();
            }

            @Override
            public boolean done(Event directoryOperation) {
                return r.nextBoolean();
            }
        };
    }

    private static String describe(Event e) {
        return e instanceof PowerLossDisk.Write w
                ? "Write[inode=" + w.inode() + ", offset=" + w.offset() + ", " + w.bytes().length + " bytes]"
                : e.toString();
    }
}
