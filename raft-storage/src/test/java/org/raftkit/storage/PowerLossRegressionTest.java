package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.raftkit.storage.TestEntries.range;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.message.Entry;
import org.raftkit.storage.DiskModel.PageFate;
import org.raftkit.storage.PowerLossDisk.Create;
import org.raftkit.storage.PowerLossDisk.Event;
import org.raftkit.storage.PowerLossDisk.Force;
import org.raftkit.storage.PowerLossDisk.Truncate;

/**
 * The four power losses that once left a log that would not open (issue 14), each rebuilt with
 * {@link DiskModel} at the exact moment and with the exact fates that broke it. Each must open
 * with every acknowledged entry and nothing that was not appended at its index.
 */
class PowerLossRegressionTest {

    private static final long FATES_SEED = 0x5EC0_4D;
    private static final int FATES_PER_STEP = 16;

    @TempDir
    Path dir;
    @TempDir
    Path image;

    private final SegmentedLogStorage.Options options = SegmentedLogStorage.Options.defaults()
            .withSegmentSizeBytes(8192).withWriteBufferBytes(4096).withPreallocateBytes(0).withCacheBytes(0);

    /**
     * A sync writes records 4 to 6 over three pages; the power fails before its force, and the
     * first page (records 4 and 5) never reaches the disk while the next ones do. Record 6 is valid
     * after a bad record 4, but nothing from 4 on was acknowledged: cut it off, do not refuse.
     */
    @Test
    void unsyncedPagesReachingTheDiskOutOfOrderAreCutOffNotRefused() throws IOException {
        SegmentedLogStorage.Options big = options.withSegmentSizeBytes(1 << 20);
        try (RecordedLog log = new RecordedLog(dir, big, List.of(), 0)) {
            log.append(range(1, 3, 1, 100));
            log.sync();
            int from = log.disk().position();
            log.append(range(4, 3, 1, 3000));
            log.sync();
            int crash = first(log, Force.class, from);
            assertThat(crashAndOpen(log, crash, big, DiskModel.scripted(
                    (name, page) -> page == 0 ? PageFate.LOST : PageFate.KEPT, true, true))).isNull();
        }
    }

    /**
     * Appends fill segment 1 and roll to segment 2; the power fails right after segment 2 is
     * created. Its directory entry reached the disk; segment 1's unsynced tail did not. The log must
     * not come back with a gap between the two.
     */
    @Test
    void aNewSegmentNeverReachesTheDiskBeforeTheOldSegmentsTail() throws IOException {
        try (RecordedLog log = new RecordedLog(dir, options, List.of(), 0)) {
            log.append(range(1, 3, 1, 100));
            log.sync();
            int from = log.disk().position();
            log.append(range(4, 6, 1, 2000));
            int crash = first(log, Create.class, from) + 1;
            assertThat(crashAndOpen(log, crash, options, DiskModel.scripted((name, page) -> PageFate.LOST, false, true)))
                    .isNull();
        }
    }

    /**
     * A truncation inside segment 1 of a five-segment log; the power fails right after the cut
     * segment is forced, and the unlinks of the later segments never reached the disk. A deleted
     * segment must not come back after the cut.
     */
    @Test
    void truncateSuffixNeverBringsBackADeletedSegment() throws IOException {
        try (RecordedLog log = new RecordedLog(dir, options, List.of(), 0)) {
            log.append(range(1, 30, 1, 1000));
            log.sync();
            assertThat(log.log().directory().toFile().list((d, n) -> n.endsWith(".log"))).hasSizeGreaterThan(3);
            int from = log.disk().position();
            log.truncateSuffix(3);
            int crash = first(log, Force.class, first(log, Truncate.class, from)) + 1;
            assertThat(crashAndOpen(log, crash, options, DiskModel.scripted((name, page) -> PageFate.KEPT, true, false)))
                    .isNull();
        }
    }

    /**
     * Recovery finds a torn record at the end of segment 1 and a segment 2 with no valid record,
     * and repairs; the process dies (even kill -9: everything written so far is kept) right after
     * the cut segment is forced. What it leaves must open.
     */
    @Test
    void aCrashDuringRecoverysRepairLeavesALogThatOpens() throws IOException {
        List<Entry> written = writeInTwoSyncs(9);
        // A write torn by a crash: the last record of segment 1 and all of segment 2 are garbage.
        Path segment1 = dir.resolve(Segment.fileName(1));
        long lastInSegment1 = 3 + (options.segmentSizeBytes() - 3 * RecordFormat.recordBytes(written.get(0)))
                / RecordFormat.recordBytes(written.get(3));
        Path segment2 = dir.resolve(Segment.fileName(lastInSegment1 + 1));
        assertThat(segment2).exists();
        int lastRecordBytes = RecordFormat.recordBytes(written.get((int) lastInSegment1 - 1));
        garble(segment1, Files.size(segment1) - lastRecordBytes + 10, lastRecordBytes - 10);
        garble(segment2, 0, Files.size(segment2));
        try (RecordedLog log = new RecordedLog(dir, options, written, 3)) {
            int crash = first(log, Force.class, first(log, Truncate.class, 0)) + 1;
            assertThat(crashAndOpen(log, crash, options, DiskModel.scripted((name, page) -> PageFate.KEPT, true, true)))
                    .isNull();
        }
    }

    /**
     * Found by {@link PowerLossTest} (seed 866 of 41 to 1040): a roll creates segment 15, then a
     * compaction saves {@code log-start} = 15; the power fails after the rename that saves it and
     * before the directory is forced. The rename reached the disk, the creation of segment 15 did
     * not: the log must not start at a segment that is not there.
     */
    @Test
    void aCompactionNeverSavesAStartBeforeTheSegmentItNamesIsDurable() throws IOException {
        try (RecordedLog log = new RecordedLog(dir, options, List.of(), 0)) {
            log.append(range(1, 14, 1, 1000)); // 1,033 bytes a record: 7 to an 8 KiB segment
            log.sync();
            int from = log.disk().position();
            log.append(range(15, 1, 1, 1000)); // rolls: segment 15 is created
            log.compactPrefix(14);
            assertThat(log.log().firstIndex()).isEqualTo(15);
            int crash = first(log, PowerLossDisk.Rename.class, from) + 1;
            assertThat(crashAndOpen(log, crash, options, DiskModel.scripted((name, page) -> PageFate.LOST, false,
                    op -> !(op instanceof Create c && c.name().endsWith(".log"))))).isNull();
        }
    }

    /**
     * The repair that deletes later segments, crashed at every step of it: record 4, the first of a
     * never-synced write spanning four segments, is torn, and the records after it (valid, but
     * written before 4 was synced) are cut off with their segments. A power loss after any event of
     * that repair, with {@value #FATES_PER_STEP} seeded sets of fates each, must leave a log that
     * opens with entries 1 to 3. A write without the roll fix, or damage, leaves such a disk; the
     * workloads of {@link PowerLossTest} never do, so this is where the repair's order is checked.
     */
    @Test
    void everyCrashDuringARepairThatDeletesLaterSegmentsLeavesALogThatOpens() throws IOException {
        List<Entry> written = writeInTwoSyncs(24);
        assertThat(dir.toFile().list((d, n) -> n.endsWith(".log"))).hasSizeGreaterThanOrEqualTo(4);
        garble(dir.resolve(Segment.fileName(1)), 3L * RecordFormat.recordBytes(written.get(0)) + 5, 20);
        try (RecordedLog log = new RecordedLog(dir, options, written, 3)) {
            assertThat(log.log().lastIndex()).isEqualTo(3);
            List<Event> repair = List.copyOf(log.disk().journal());
            assertThat(repair).hasAtLeastOneElementOfType(PowerLossDisk.Unlink.class);
            SplittableRandom random = new SplittableRandom(FATES_SEED);
            int images = 0;
            for (int point = 0; point <= repair.size(); point++) {
                for (int i = 0; i < FATES_PER_STEP; i++) {
                    long seed = random.nextLong();
                    assertThat(crashAndOpen(log, point, options, PowerLossTest.randomFates(seed)))
                            .as("crash after event %d of %d of the repair, fates %d", point, repair.size(), seed).isNull();
                    images++;
                }
            }
            System.out.printf("repair crashed at %d steps: %d images, fates seed %d%n", repair.size() + 1, images,
                    FATES_SEED);
        }
    }

    /**
     * Writes entries 1 to 3 (100 bytes each) in one sync and {@code later} entries of 1,500 bytes
     * after them in a second one, without forcing (the test makes the files what it needs).
     */
    private List<Entry> writeInTwoSyncs(int later) throws IOException {
        List<Entry> written = new ArrayList<>(range(1, 3, 1, 100));
        written.addAll(range(4, later, 1, 1500));
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options.withSyncPolicy(SyncPolicy.NEVER))) {
            log.append(written.subList(0, 3));
            log.sync();
            log.append(written.subList(3, written.size()));
            log.sync();
        }
        return written;
    }

    /** Opens the disk a crash after {@code point} events leaves; why it is wrong, or null. */
    private String crashAndOpen(RecordedLog log, int point, SegmentedLogStorage.Options opts, DiskModel.Fates fates)
            throws IOException {
        DiskModel model = log.disk().initial();
        for (int i = 0; i < point; i++) {
            model.apply(log.disk().journal().get(i));
        }
        DiskModel.materialize(model.crashImage(fates), image);
        try (SegmentedLogStorage reopened = SegmentedLogStorage.open(image,
                opts.withChannelFactory(PowerLossDisk.recording(image)))) {
            return log.check(reopened, point);
        }
    }

    /** Position of the first event of {@code type} at or after {@code from}. */
    private static int first(RecordedLog log, Class<? extends Event> type, int from) {
        List<Event> journal = log.disk().journal();
        for (int i = from; i < journal.size(); i++) {
            if (type.isInstance(journal.get(i))) {
                return i;
            }
        }
        throw new AssertionError("no " + type.getSimpleName() + " after event " + from + " in " + journal);
    }

    private static void garble(Path file, long offset, long length) throws IOException {
        byte[] junk = new byte[(int) length];
        new SplittableRandom(offset).nextBytes(junk);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            StorageFiles.writeFully(ch, ByteBuffer.wrap(junk), offset);
        }
    }
}
