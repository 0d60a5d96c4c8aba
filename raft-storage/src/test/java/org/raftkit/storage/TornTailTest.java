package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.raftkit.storage.TestEntries.entry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.raftkit.message.Entry;

/**
 * A crash while the last record was being written leaves any prefix of it, possibly followed by
 * zeros (preallocated space) or garbage (a sector written out of order). For each such tail,
 * reopening must give back exactly the records before it, and the log must take a new append that
 * survives another reopen.
 *
 * <p>For a last record with a payload of {@code payloadBytes}, every byte offset inside it is a
 * cut point, in three ways: the file ends there; zeros from there to the record's end; seeded
 * random bytes from there to the record's end. For the 1 MiB payload, to keep the test quick
 * (each case rewrites and rescans a megabyte), the cut points are every offset in the header and
 * the first 1 KiB of the record, every offset in its last 1 KiB, and every 4,093rd offset in
 * between; the 4 KiB + 1 payload already takes every offset of a record spanning pages, and the
 * 1 MiB one adds records larger than the write buffer and the scanner's window. The "new append
 * and reopen" round trip runs at every cut point for the smaller payloads and at every 16th one
 * for 4 KiB + 1 and 1 MiB (the reopen is the costly part). Everything runs with
 * {@link SyncPolicy#NEVER}: the bytes on disk are what this test controls; forcing them would only
 * make it slow.
 */
class TornTailTest {

    private static final long SEED = 0x7041_7A11L;
    private static final int EARLIER_RECORDS = 3;

    private enum Tail { CUT, ZEROS, GARBAGE }

    @TempDir
    Path dir;

    private final SegmentedLogStorage.Options options = SegmentedLogStorage.Options.defaults()
            .withSyncPolicy(SyncPolicy.NEVER).withPreallocateBytes(0).withCacheBytes(0);

    @ParameterizedTest(name = "payload {0} bytes")
    @ValueSource(ints = {1, 100, 4097, 1 << 20})
    void everyTornTailOfTheLastRecordIsCutOffAndTheLogGoesOn(int payloadBytes) throws IOException {
        List<Entry> intact = new ArrayList<>();
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options)) {
            for (int i = 1; i <= EARLIER_RECORDS; i++) {
                intact.add(entry(i, 1, Math.min(payloadBytes, 100) + i));
            }
            log.append(intact);
            log.append(List.of(entry(EARLIER_RECORDS + 1, 2, payloadBytes)));
            log.sync();
        }
        Path segment = dir.resolve(Segment.fileName(1));
        byte[] original = Files.readAllBytes(segment);
        int recordBytes = RecordFormat.HEADER_BYTES + payloadBytes;
        int lastStart = original.length - recordBytes;
        ByteBuffer tail = ByteBuffer.allocate(recordBytes);
        byte[] garbage = new byte[recordBytes];
        new SplittableRandom(SEED + payloadBytes).nextBytes(garbage);
        boolean big = payloadBytes > 4096;
        int cases = 0;
        long start = System.nanoTime();
        for (int cut : cutPoints(recordBytes, payloadBytes >= (1 << 20))) {
            for (Tail kind : Tail.values()) {
                writeTail(segment, original, lastStart, cut, kind == Tail.ZEROS ? null : kind == Tail.CUT
                        ? new byte[0] : garbage, tail);
                boolean roundTrip = !big || cut % 16 == 0;
                reopenAndCheck(intact, roundTrip, "payload " + payloadBytes + ", cut at " + cut + " of "
                        + recordBytes + ", " + kind);
                cases++;
            }
        }
        System.out.printf("torn tail, payload %d: %d cases in %d ms, seed %d%n", payloadBytes, cases,
                (System.nanoTime() - start) / 1_000_000, SEED);
    }

    /** Every offset in the record, or for a huge one its edges and a stride through the middle. */
    private static Iterable<Integer> cutPoints(int recordBytes, boolean strided) {
        TreeSet<Integer> cuts = new TreeSet<>();
        if (!strided) {
            for (int c = 0; c < recordBytes; c++) {
                cuts.add(c);
            }
            return cuts;
        }
        for (int c = 0; c < RecordFormat.HEADER_BYTES + 1024; c++) {
            cuts.add(c);
        }
        for (int c = recordBytes - 1024; c < recordBytes; c++) {
            cuts.add(c);
        }
        for (int c = 0; c < recordBytes; c += 4093) {
            cuts.add(c);
        }
        return cuts;
    }

    /**
     * Rewrites the segment as it would be after a crash: the records before the last one as
     * written (recovery never changes them, so only the last record's bytes are rewritten), then
     * the last record's first {@code cut} bytes, then the rest of the record's length taken from
     * {@code fill} (null: zeros; empty: nothing, the file ends at the cut).
     */
    private static void writeTail(Path segment, byte[] original, int lastStart, int cut, byte[] fill, ByteBuffer tail)
            throws IOException {
        tail.clear();
        tail.put(original, lastStart, cut);
        byte[] a = tail.array();
        if (fill == null) {
            Arrays.fill(a, cut, a.length, (byte) 0);
            tail.position(a.length);
        } else if (fill.length > 0) {
            System.arraycopy(fill, cut, a, cut, a.length - cut);
            tail.position(a.length);
        }
        tail.flip();
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.truncate(lastStart);
            StorageFiles.writeFully(ch, tail, lastStart);
        }
    }

    private void reopenAndCheck(List<Entry> intact, boolean roundTrip, String what) throws IOException {
        long last = intact.size();
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options)) {
            assertThat(log.lastIndex()).as(what).isEqualTo(last);
            assertThat(log.entries(1, last + 1, Long.MAX_VALUE)).as(what).isEqualTo(intact);
            if (!roundTrip) {
                return;
            }
            log.append(List.of(entry(last + 1, 3, 5)));
            log.sync();
        }
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options)) {
            assertThat(log.lastIndex()).as(what + ", after a new append").isEqualTo(last + 1);
            assertThat(log.entries(last + 1, last + 2, Long.MAX_VALUE)).as(what)
                    .containsExactly(entry(last + 1, 3, 5));
        }
    }
}
