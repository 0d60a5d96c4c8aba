package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.raftkit.storage.TestEntries.entry;
import static org.raftkit.storage.TestEntries.range;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.message.Entry;

/**
 * What is particular to the segmented log: files, lock, big records, reads checked, cuts that stay
 * cut, interrupted compactions and resets finished on open.
 */
class SegmentedLogStorageTest {

    @TempDir
    Path dir;

    private final SegmentedLogStorage.Options small = SegmentedLogStorage.Options.defaults()
            .withSegmentSizeBytes(4096).withWriteBufferBytes(4096).withPreallocateBytes(1024).withCacheBytes(0);

    @Test
    void segmentsAreNamedByTheirFirstIndexAndRollWhenFull() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            log.append(range(1, 100, 1, 92)); // 125 bytes a record (33 + 92): 32 to a 4 KiB segment
            log.sync();
        }
        assertThat(segmentNames()).containsExactly("00000000000000000001.log", "00000000000000000033.log",
                "00000000000000000065.log", "00000000000000000097.log");
    }

    @Test
    void aSecondOpenOfTheSameDirectoryFailsClearly() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            assertThat(log.lastIndex()).isZero();
            assertThatThrownBy(() -> SegmentedLogStorage.open(dir, small)).isInstanceOf(IOException.class)
                    .hasMessageContaining("already open").hasMessageContaining("log.lock");
        }
        SegmentedLogStorage.open(dir, small).close();
    }

    @Test
    void everyEntryTypeIsReadBackAsWritten() throws IOException {
        List<Entry> written = new java.util.ArrayList<>();
        long index = 1;
        for (org.raftkit.message.EntryType type : org.raftkit.message.EntryType.values()) {
            written.add(new Entry(index, 1, type, type == org.raftkit.message.EntryType.REGISTER_SESSION
                    || type == org.raftkit.message.EntryType.NO_OP ? new byte[0] : new byte[] {(byte) index, 7}));
            index++;
        }
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            log.append(written);
            log.sync();
        }
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            assertThat(log.entries(1, index, Long.MAX_VALUE)).isEqualTo(written);
        }
    }

    @Test
    void recordsLargerThanTheBufferAndTheSegmentGetASegmentOfTheirOwn() throws IOException {
        List<Entry> written = List.of(entry(1, 1, 10), entry(2, 1, 100_000), entry(3, 1, 10), entry(4, 2, 5000));
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            log.append(written);
            log.sync();
            assertThat(log.entries(1, 5, Long.MAX_VALUE)).isEqualTo(written);
        }
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            assertThat(log.entries(1, 5, Long.MAX_VALUE)).isEqualTo(written);
        }
        assertThat(segmentNames()).hasSize(4);
    }

    @Test
    void aRecordDamagedWhileOpenIsCaughtWhenReadBack() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            log.append(range(1, 10, 1, 92));
            log.sync();
            Path segment = dir.resolve(Segment.fileName(1));
            try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
                StorageFiles.writeFully(ch, ByteBuffer.wrap(new byte[] {42}), 125 * 4 + 60); // in entry 5's payload
            }
            assertThat(log.entries(1, 5, Long.MAX_VALUE)).isEqualTo(range(1, 4, 1, 92));
            assertThatThrownBy(() -> log.entries(1, 11, Long.MAX_VALUE)).isInstanceOf(UncheckedIOException.class)
                    .hasCauseInstanceOf(CorruptStorageException.class)
                    .hasMessageContaining("offset 500").hasMessageContaining("index 5");
        }
    }

    @Test
    void aTruncatedSuffixNeverComesBackAfterAReopen() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            log.append(range(1, 100, 1, 92));
            log.sync();
            // Shorter records in their place: without a real cut, old records 51.. would sit after them.
            log.truncateSuffix(40);
            log.append(range(40, 2, 2, 10));
            log.sync();
        }
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            assertThat(log.lastIndex()).isEqualTo(41);
            assertThat(log.term(41)).isEqualTo(2);
        }
    }

    @Test
    void truncationAtASegmentBoundaryContinuesInThePreviousSegment() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            log.append(range(1, 70, 1, 92));
            log.truncateSuffix(33); // segment 33 starts here and goes
            assertThat(segmentNames()).containsExactly("00000000000000000001.log");
            log.append(range(33, 3, 2, 10));
            log.sync();
        }
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            assertThat(log.lastIndex()).isEqualTo(35);
            assertThat(log.entries(30, 36, Long.MAX_VALUE)).containsExactly(entry(30, 1, 92), entry(31, 1, 92),
                    entry(32, 1, 92), entry(33, 2, 10), entry(34, 2, 10), entry(35, 2, 10));
        }
    }

    @Test
    void aCompactionInterruptedBeforeItsDeletionsIsFinishedOnOpen() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            log.append(range(1, 100, 1, 92));
            log.sync();
        }
        byte[] first = Files.readAllBytes(dir.resolve(Segment.fileName(1)));
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            log.compactPrefix(40);
            assertThat(log.firstIndex()).isEqualTo(33);
        }
        Files.write(dir.resolve(Segment.fileName(1)), first); // as if the crash came before the delete
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            assertThat(log.firstIndex()).isEqualTo(33);
            assertThat(log.term(32)).isEqualTo(1);
        }
        assertThat(segmentNames()).doesNotContain(Segment.fileName(1));
    }

    /**
     * A crash right after a reset saved its start (marked in progress): every old segment is still
     * there, the one named after the new start among them. The open finishes the reset, and the new
     * log's own segments, created later, survive the next open.
     */
    @Test
    void aResetInterruptedBeforeItsDeletionsIsFinishedOnOpen() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            log.append(range(1, 100, 1, 92));
            log.sync();
        }
        new LogStart(33, 4, true).write(dir, FileChannelFactory.DEFAULT);
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            assertThat(log.firstIndex()).isEqualTo(33);
            assertThat(log.lastIndex()).isEqualTo(32);
            assertThat(log.term(32)).isEqualTo(4);
            assertThat(segmentNames()).isEmpty();
            assertThat(LogStart.read(dir, FileChannelFactory.DEFAULT)).isEqualTo(new LogStart(33, 4));
            log.append(range(33, 40, 4, 50));
            log.sync();
        }
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            assertThat(log.entries(33, 73, Long.MAX_VALUE)).isEqualTo(range(33, 40, 4, 50));
            assertThat(log.term(32)).isEqualTo(4);
        }
    }

    @Test
    void resetRejectsANegativeIndexOrTermAndATermForIndexZero() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            assertThatThrownBy(() -> log.reset(-1, 0)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> log.reset(5, -1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> log.reset(0, 3)).isInstanceOf(IllegalArgumentException.class);
            assertThat(log.isFailed()).isFalse();
        }
    }

    @Test
    void aMissingSegmentInTheMiddleRefusesToOpen() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, small)) {
            log.append(range(1, 100, 1, 92));
            log.sync();
        }
        Files.delete(dir.resolve(Segment.fileName(33)));
        assertThatThrownBy(() -> SegmentedLogStorage.open(dir, small)).isInstanceOf(CorruptStorageException.class)
                .hasMessageContaining(Segment.fileName(65)).hasMessageContaining("index 33");
    }

    @Test
    void optionsRejectValuesOutsideTheirRange() {
        SegmentedLogStorage.Options d = SegmentedLogStorage.Options.defaults();
        assertThatThrownBy(() -> d.withSegmentSizeBytes(100)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("segmentSizeBytes");
        assertThatThrownBy(() -> d.withCacheBytes(-1)).hasMessageContaining("cacheBytes");
        assertThatThrownBy(() -> d.withWriteBufferBytes(10)).hasMessageContaining("writeBufferBytes");
        assertThatThrownBy(() -> d.withPreallocateBytes(d.segmentSizeBytes() + 1)).hasMessageContaining("preallocateBytes");
        assertThat(d.withSegmentSizeBytes(4096).preallocateBytes()).isEqualTo(4096);
    }

    private List<String> segmentNames() throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".log")).sorted().toList();
        }
    }
}
