package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.raftkit.storage.TestEntries.entry;
import static org.raftkit.storage.TestEntries.range;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.message.Entry;

/**
 * A failing disk, through a decorator on every file channel: EIO on write, EIO on fsync, ENOSPC
 * once a quota is used up. Each puts the log in its failed state: the call that hit it and every
 * later write call throw, nothing is retried, and reopening the directory (the disk healed)
 * recovers every synced entry and no partial record.
 */
class FaultInjectionTest {

    @TempDir
    Path dir;

    private final FaultyChannels disk = new FaultyChannels();
    private final SegmentedLogStorage.Options options = SegmentedLogStorage.Options.defaults()
            .withSegmentSizeBytes(16 * 1024).withWriteBufferBytes(4096).withPreallocateBytes(4096)
            .withChannelFactory(disk);

    @Test
    void eioOnWriteFailsTheLogForGood() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options)) {
            log.append(range(1, 10, 1, 100));
            log.sync();
            disk.failWrites();
            log.append(range(11, 5, 1, 100)); // buffered: nothing reaches the disk yet
            assertThatThrownBy(log::sync).isInstanceOf(StorageFailedException.class)
                    .hasMessageContaining("injected EIO on write");
            assertThat(log.isFailed()).isTrue();
            disk.heal();
            assertFailedForGood(log);
            assertThat(log.entries(1, 11, Long.MAX_VALUE)).isEqualTo(range(1, 10, 1, 100));
        }
        assertReopensWithAtLeast(range(1, 10, 1, 100));
    }

    @Test
    void eioOnFsyncFailsTheLogAndIsNeverRetried() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options)) {
            log.append(range(1, 10, 1, 100));
            log.sync();
            disk.failForces();
            log.append(range(11, 5, 1, 100));
            assertThatThrownBy(log::sync).isInstanceOf(StorageFailedException.class)
                    .hasMessageContaining("injected EIO on fsync");
            int forcesAtFailure = disk.forces();
            disk.heal();
            assertFailedForGood(log);
            // A force that succeeded now would prove nothing about the pages the failed one lost.
            assertThat(disk.forces()).isEqualTo(forcesAtFailure);
        }
        assertReopensWithAtLeast(range(1, 10, 1, 100));
    }

    @Test
    void enospcAfterAQuotaFailsTheLogAndTheCutShortRecordIsCutOffOnReopen() throws IOException {
        List<Entry> synced = new ArrayList<>();
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options.withPreallocateBytes(0))) {
            disk.quota(10_000); // runs out in the middle of a write, which is cut short like a real one
            long next = 1;
            StorageFailedException failure = null;
            while (failure == null) {
                List<Entry> batch = range(next, 3, 1, 333);
                try {
                    log.append(batch);
                    log.sync();
                    synced.addAll(batch);
                    next += batch.size();
                } catch (StorageFailedException e) {
                    failure = e;
                }
            }
            assertThat(failure).hasMessageContaining("injected ENOSPC");
            assertThat(synced).isNotEmpty();
            disk.heal();
            assertFailedForGood(log);
        }
        assertReopensWithAtLeast(synced);
    }

    @Test
    void enospcWhilePreallocatingFailsTheLogToo() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options)) {
            log.append(range(1, 5, 1, 100));
            log.sync();
            disk.quota(0);
            // 12 KiB of records overflow the 4 KiB buffer, so the append itself must grow the file.
            assertThatThrownBy(() -> log.append(range(6, 100, 1, 100))).isInstanceOf(StorageFailedException.class)
                    .hasMessageContaining("injected ENOSPC");
            disk.heal();
            assertFailedForGood(log);
        }
        assertReopensWithAtLeast(range(1, 5, 1, 100));
    }

    @Test
    void eioOnTheDirectoryFsyncAfterANewSegmentFailsTheLog() throws IOException {
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options)) {
            log.append(range(1, 3, 1, 100));
            log.sync();
            disk.failForces();
            assertThatThrownBy(() -> {
                log.append(range(4, 400, 1, 100)); // several new segments
                log.sync();
            }).isInstanceOf(StorageFailedException.class);
        }
        assertReopensWithAtLeast(range(1, 3, 1, 100));
    }

    private void assertFailedForGood(SegmentedLogStorage log) {
        long next = log.lastIndex() + 1;
        assertThatThrownBy(() -> log.append(List.of(entry(next, 1, 1)))).isInstanceOf(StorageFailedException.class)
                .hasMessageContaining("failed earlier");
        assertThatThrownBy(log::sync).isInstanceOf(StorageFailedException.class);
        assertThatThrownBy(() -> log.truncateSuffix(1)).isInstanceOf(StorageFailedException.class);
        assertThatThrownBy(() -> log.compactPrefix(1)).isInstanceOf(StorageFailedException.class);
    }

    /** Reopens on a healthy disk: every synced entry is there; anything after is whole and in order. */
    private void assertReopensWithAtLeast(List<Entry> synced) throws IOException {
        disk.heal();
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, options.withChannelFactory(FileChannelFactory.DEFAULT))) {
            assertThat(log.lastIndex()).isGreaterThanOrEqualTo(synced.size());
            assertThat(log.entries(1, synced.size() + 1, Long.MAX_VALUE)).isEqualTo(synced);
            List<Entry> after = log.entries(synced.size() + 1, log.lastIndex() + 1, Long.MAX_VALUE);
            for (Entry e : after) {
                assertThat(e.data()).hasSize(synced.get(0).data().length); // whole records only, never a partial one
            }
            log.append(List.of(entry(log.lastIndex() + 1, 2, 9)));
            log.sync();
        }
    }
}
