package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.raftkit.storage.TestSnapshots.MEMBERS;
import static org.raftkit.storage.TestSnapshots.file;
import static org.raftkit.storage.TestSnapshots.receive;
import static org.raftkit.storage.TestSnapshots.state;
import static org.raftkit.storage.TestSnapshots.withValidCrc;
import static org.raftkit.storage.TestSnapshots.write;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;

/**
 * What only the file store does: names, temporary files, the lock, forces, a failing disk (through
 * {@link FaultyChannels}), and files in the directory that are damaged, foreign or from the future.
 */
class FileSnapshotStoreTest {

    @TempDir
    Path dir;

    private final FaultyChannels disk = new FaultyChannels();
    private final FileSnapshotStore.Options options = FileSnapshotStore.Options.defaults().withChannelFactory(disk);

    @Test
    void publishedSnapshotIsOneFileNamedByIndexAndTermAndNothingElseIsLeft() throws IOException {
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options)) {
            write(store, 7, 3, state(1000, 1));
            assertThat(names()).containsExactly("snapshot-00000000000000000007-00000000000000000003.snap",
                    "snapshot.lock");
        }
    }

    @Test
    void publishForcesTheFileAndTheDirectoryUnlessTheSyncPolicyIsNever() throws IOException {
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options)) {
            int before = disk.forces();
            write(store, 7, 3, state(1000, 1));
            assertThat(disk.forces() - before).isEqualTo(2);
        }
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options.withSyncPolicy(SyncPolicy.NEVER))) {
            int before = disk.forces();
            write(store, 8, 3, state(1000, 1));
            assertThat(disk.forces()).isEqualTo(before);
        }
    }

    @Test
    void aLargeSnapshotIsForcedInStepsWhileWrittenAndWhileReceived() throws IOException {
        byte[] incoming;
        try (SnapshotStore scratch = new org.raftkit.memory.MemorySnapshotStore()) {
            incoming = file(scratch, write(scratch, 20, 1, state(1_000_000, 2)), 64 << 10);
        }
        FileSnapshotStore.Options stepped = options.withForceStepBytes(100_000);
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, stepped)) {
            int before = disk.forces();
            write(store, 7, 3, state(1_000_000, 1));
            // 1,000,000 bytes of state: 10 steps of 100,000, then the file and the directory at publication.
            assertThat(disk.forces() - before).isBetween(11, 12);
            before = disk.forces();
            receive(store, 20, 1, incoming, 64 << 10);
            assertThat(disk.forces() - before).isBetween(11, 12);
        }
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, stepped.withSyncPolicy(SyncPolicy.NEVER))) {
            int before = disk.forces();
            write(store, 30, 3, state(1_000_000, 1));
            assertThat(disk.forces()).as("no force at all without real syncs").isEqualTo(before);
        }
        assertThatThrownBy(() -> FileSnapshotStore.Options.defaults().withForceStepBytes(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("forceStepBytes");
    }

    @Test
    void aStepForceThatFailsDiscardsTheSnapshotAndKeepsThePreviousOne() throws IOException {
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options.withForceStepBytes(100_000))) {
            SnapshotInfo previous = write(store, 10, 1, state(1000, 1));
            disk.failForces();
            assertThatThrownBy(() -> write(store, 20, 1, state(1_000_000, 2))).isInstanceOf(IOException.class)
                    .hasMessageContaining("injected EIO on fsync");
            disk.heal();
            assertThat(names()).containsExactly(store.file(10, 1).getFileName().toString(), "snapshot.lock");
            assertThat(store.list()).containsExactly(previous);
        }
    }

    @Test
    void leftoverTemporaryFilesAreDeletedAtOpenButNotOtherStoresOnes() throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("snapshot-00000000000000000007-00000000000000000003.snap.tmp"), new byte[100]);
        Files.write(dir.resolve("snapshot-00000000000000000009-00000000000000000003.snap.recv.tmp"), new byte[100]);
        Files.write(dir.resolve("term-vote.tmp"), new byte[10]); // FileTermVoteStore's, sharing the directory
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options)) {
            assertThat(names()).containsExactly("snapshot.lock", "term-vote.tmp");
            assertThat(store.list()).isEmpty();
        }
    }

    @Test
    void aSecondOpenOfTheSameDirectoryIsRefused() throws IOException {
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options)) {
            assertThatThrownBy(() -> FileSnapshotStore.open(dir)).isInstanceOf(IOException.class)
                    .hasMessageContaining("snapshot.lock");
        }
        FileSnapshotStore.open(dir).close(); // released on close
    }

    @Test
    void diskFullWhileWritingLeavesThePreviousSnapshotAndNoTemporaryFile() throws IOException {
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options)) {
            SnapshotInfo previous = write(store, 10, 1, state(100_000, 1));
            disk.quota(300_000); // runs out in the middle of the next one
            assertThatThrownBy(() -> write(store, 20, 1, state(1_000_000, 2))).isInstanceOf(IOException.class)
                    .hasMessageContaining("injected ENOSPC");
            assertThat(names()).containsExactly(store.file(10, 1).getFileName().toString(), "snapshot.lock");
            disk.heal();
            assertThat(store.list()).containsExactly(previous);
            // Tried again later, it works.
            SnapshotInfo next = write(store, 20, 1, state(1_000_000, 2));
            assertThat(store.list()).containsExactly(next, previous);
        }
    }

    @Test
    void diskFullWhileReceivingLeavesThePreviousSnapshotAndNoTemporaryFile() throws IOException {
        byte[] incoming;
        try (SnapshotStore scratch = new org.raftkit.memory.MemorySnapshotStore()) {
            incoming = file(scratch, write(scratch, 20, 1, state(500_000, 2)), 1 << 20);
        }
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options)) {
            SnapshotInfo previous = write(store, 10, 1, state(1000, 1));
            disk.quota(100_000);
            assertThatThrownBy(() -> receive(store, 20, 1, incoming, 64 << 10)).isInstanceOf(IOException.class)
                    .hasMessageContaining("injected ENOSPC");
            disk.heal();
            assertThat(names()).containsExactly(store.file(10, 1).getFileName().toString(), "snapshot.lock");
            assertThat(store.list()).containsExactly(previous);
        }
    }

    @Test
    void failedForceOnPublishPublishesNothing() throws IOException {
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options)) {
            SnapshotInfo previous = write(store, 10, 1, state(1000, 1));
            disk.failForces();
            assertThatThrownBy(() -> write(store, 20, 1, state(1000, 2))).isInstanceOf(IOException.class)
                    .hasMessageContaining("injected EIO on fsync");
            disk.heal();
            assertThat(names()).containsExactly(store.file(10, 1).getFileName().toString(), "snapshot.lock");
            assertThat(store.list()).containsExactly(previous);
        }
    }

    @Test
    void everyByteOfASmallSnapshotFlippedMakesListSkipIt() throws IOException {
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options)) {
            SnapshotInfo older = write(store, 10, 1, state(20, 1));
            SnapshotInfo newest = write(store, 20, 1, state(20, 2));
            Path file = store.file(20, 1);
            byte[] pristine = Files.readAllBytes(file);
            for (int i = 0; i < pristine.length; i++) {
                byte[] damaged = pristine.clone();
                damaged[i] ^= 0x01;
                Files.write(file, damaged);
                assertThat(store.list()).as("byte %d of %d flipped", i, pristine.length).containsExactly(older);
            }
            Files.write(file, pristine);
            assertThat(store.list()).containsExactly(newest, older);
        }
    }

    @Test
    void badFilesInTheDirectoryAreSkippedWithTheReason() throws IOException {
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options)) {
            SnapshotInfo good = write(store, 10, 1, state(1000, 1));
            byte[] pristine = Files.readAllBytes(store.file(10, 1));

            byte[] future = pristine.clone();
            ByteBuffer.wrap(future).putShort(6, (short) 9);
            Path futureFile = store.file(30, 1);
            Files.write(futureFile, withValidCrc(future));
            assertThatThrownBy(() -> store.verify(futureFile)).hasMessageContaining(futureFile.toString())
                    .hasMessageContaining("format version 9 is newer");

            Path foreign = store.file(40, 1);
            Files.writeString(foreign, "{\"this\": \"is JSON\"}");
            assertThatThrownBy(() -> store.verify(foreign)).hasMessageContaining(foreign.toString())
                    .hasMessageContaining("not a RaftKit snapshot");

            Path truncated = store.file(50, 1);
            Files.write(truncated, java.util.Arrays.copyOf(pristine, pristine.length - 1));
            assertThatThrownBy(() -> store.verify(truncated)).hasMessageContaining(truncated.toString())
                    .hasMessageContaining("truncated");

            Path renamed = store.file(60, 1); // whole, but not the snapshot its name says
            Files.write(renamed, pristine);
            assertThatThrownBy(() -> store.verify(renamed)).hasMessageContaining(renamed.toString())
                    .hasMessageContaining("holds index 10, term 1, not what its name says");

            Files.writeString(dir.resolve("snapshot-7.snap"), "not one of ours by name");
            assertThat(store.list()).containsExactly(good);
        }
    }

    @Test
    void retentionDeletesTheOldestFilesAndKeepsTheNewestFew() throws IOException {
        try (FileSnapshotStore store = FileSnapshotStore.open(dir, options.withKeepSnapshots(3))) {
            for (long i = 1; i <= 6; i++) {
                write(store, i * 10, 1, state(100, i));
            }
            assertThat(names()).containsExactly(store.file(40, 1).getFileName().toString(),
                    store.file(50, 1).getFileName().toString(), store.file(60, 1).getFileName().toString(),
                    "snapshot.lock");
            assertThat(store.list()).extracting(SnapshotInfo::index).containsExactly(60L, 50L, 40L);
        }
    }

    @Test
    void closingTheStoreDiscardsWhatIsUnpublished() throws IOException {
        FileSnapshotStore store = FileSnapshotStore.open(dir, options);
        SnapshotStore.Writer w = store.begin(10, 1, MEMBERS);
        w.body().write(state(1000, 1));
        store.receive(20, 1).write(0, new byte[100]);
        store.close();
        assertThat(names()).containsExactly("snapshot.lock");
        assertThatThrownBy(w::publish).isInstanceOf(IOException.class).hasMessageContaining("discarded");
    }

    private List<String> names() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
