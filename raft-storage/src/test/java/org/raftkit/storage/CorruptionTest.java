package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

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
import org.raftkit.spi.TermVoteStore.TermAndVote;

/**
 * Damage that a crash cannot explain is detected, never cut off as if it were a torn tail: a
 * single flipped bit anywhere before the last record (in a header, a payload, a sealed segment's
 * zero-filled end) makes {@code open} refuse, naming the file, an offset at or before the flip,
 * and the index expected there. Likewise any flipped bit in the term/vote or log-start file.
 *
 * <p>A flip inside the very last record is different: it is indistinguishable from a record torn
 * by a crash, so the only acceptable outcome there is the loss of exactly that record and nothing
 * else (docs/STORAGE.md, "What recovery cannot know"). The same holds for every record of the last
 * sync, so the log here ends with a sync of one record.
 *
 * <p>Seeded: each test prints its seed, and a failure message names the flip that went undetected.
 */
class CorruptionTest {

    private static final long SEED = 0xC0FFEEL;
    private static final int FLIPS = 3_000;

    @TempDir
    Path dir;

    /** Small segments with preallocation, so sealed segments end in zeros and flips hit every kind of byte. */
    private final SegmentedLogStorage.Options options = SegmentedLogStorage.Options.defaults()
            .withSyncPolicy(SyncPolicy.NEVER).withSegmentSizeBytes(2048).withPreallocateBytes(1024);

    @Test
    void everyBitFlipBeforeTheLastRecordRefusesToOpen() throws IOException {
        List<Entry> written = writeLog(new SplittableRandom(SEED));
        List<Path> files = segmentFiles();
        assertThat(files).hasSizeGreaterThan(3);
        long lastRecordStart = lastRecordEnd(written, files) - RecordFormat.recordBytes(written.get(written.size() - 1));
        SplittableRandom random = new SplittableRandom(SEED + 1);
        System.out.printf("corruption: %d flips before the last record, seed %d%n", FLIPS, SEED);
        for (int i = 0; i < FLIPS; i++) {
            int f = random.nextInt(files.size());
            Path file = files.get(f);
            long limit = f == files.size() - 1 ? lastRecordStart : Files.size(file);
            long position = random.nextLong(limit);
            int bit = random.nextInt(8);
            flip(file, position, bit);
            CorruptStorageException e = catchThrowableOfType(CorruptStorageException.class,
                    () -> SegmentedLogStorage.open(dir, options).close());
            String flipped = "flip " + i + ": bit " + bit + " at " + file.getFileName() + " offset " + position;
            assertThat(e).as(flipped + " was not detected").isNotNull();
            assertThat(e.file()).as(flipped).isEqualTo(file);
            assertThat(e.offset()).as(flipped).isLessThanOrEqualTo(position);
            assertThat(e.index()).as(flipped).isBetween(1L, (long) written.size());
            assertThat(e.getMessage()).contains(file.toString(), "offset " + e.offset(), "index " + e.index());
            flip(file, position, bit);
        }
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options)) {
            assertThat(log.entries(1, written.size() + 1, Long.MAX_VALUE)).isEqualTo(written);
        }
    }

    @Test
    void aBitFlipInTheLastRecordLosesExactlyThatRecord() throws IOException {
        List<Entry> written = writeLog(new SplittableRandom(SEED + 2));
        List<Path> files = segmentFiles();
        Path last = files.get(files.size() - 1);
        byte[] original = Files.readAllBytes(last);
        int recordBytes = RecordFormat.recordBytes(written.get(written.size() - 1));
        long recordStart = lastRecordEnd(written, files) - recordBytes;
        SplittableRandom random = new SplittableRandom(SEED + 3);
        for (int i = 0; i < 300; i++) {
            long position = recordStart + random.nextInt(recordBytes);
            flip(last, position, random.nextInt(8));
            try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options)) {
                assertThat(log.lastIndex()).as("flip at " + position).isEqualTo(written.size() - 1);
                assertThat(log.entries(1, written.size(), Long.MAX_VALUE))
                        .isEqualTo(written.subList(0, written.size() - 1));
            }
            Files.write(last, original); // recovery cut the record off; put it back for the next flip
        }
    }

    @Test
    void everyBitFlipInTheTermVoteFileRefusesToOpen() throws IOException {
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            store.save(new TermAndVote(42, "node-7"));
        }
        Path file = dir.resolve(FileTermVoteStore.FILE_NAME);
        long size = Files.size(file);
        for (long position = 0; position < size; position++) {
            for (int bit = 0; bit < 8; bit++) {
                flip(file, position, bit);
                long at = position;
                assertThatThrownBy(() -> FileTermVoteStore.open(dir).close())
                        .as("flip at %d", at).isInstanceOf(CorruptStorageException.class)
                        .hasMessageContaining(file.toString());
                flip(file, position, bit);
            }
        }
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            assertThat(store.load()).isEqualTo(new TermAndVote(42, "node-7"));
        }
    }

    @Test
    void everyBitFlipInTheLogStartFileRefusesToOpen() throws IOException {
        List<Entry> written = writeLog(new SplittableRandom(SEED + 4));
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options)) {
            log.compactPrefix(written.size() / 2);
            assertThat(log.firstIndex()).isGreaterThan(1);
        }
        Path file = dir.resolve(LogStart.FILE_NAME);
        long size = Files.size(file);
        for (long position = 0; position < size; position++) {
            for (int bit = 0; bit < 8; bit++) {
                flip(file, position, bit);
                assertThatThrownBy(() -> SegmentedLogStorage.open(dir, options).close())
                        .isInstanceOf(CorruptStorageException.class);
                flip(file, position, bit);
            }
        }
    }

    /**
     * About 60 entries of 0 to 300 bytes over several 2 KiB segments, synced in batches, the last
     * one alone: the records of the last sync carry no witness that they were synced (nothing was
     * written after them), so only there is damage indistinguishable from a lost write.
     */
    private List<Entry> writeLog(SplittableRandom random) throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options)) {
            List<Entry> written = new ArrayList<>(TestEntries.appendSyncedBatches(log, random, 12, 9, 300, 4));
            Entry last = TestEntries.entry(written.size() + 1, 4, random.nextInt(301));
            log.append(List.of(last));
            log.sync();
            written.add(last);
            return written;
        }
    }

    /** End of the last record in the last segment (preallocated zeros may follow). */
    private static long lastRecordEnd(List<Entry> written, List<Path> files) {
        long first = Segment.parseFileName(files.get(files.size() - 1).getFileName().toString());
        long end = 0;
        for (Entry e : written.subList((int) first - 1, written.size())) {
            end += RecordFormat.recordBytes(e);
        }
        return end;
    }

    private List<Path> segmentFiles() throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList();
        }
    }

    private static void flip(Path file, long position, int bit) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            StorageFiles.readFully(ch, b, position);
            b.put(0, (byte) (b.get(0) ^ (1 << bit))).rewind();
            StorageFiles.writeFully(ch, b, position);
        }
    }
}
