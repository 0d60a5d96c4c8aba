package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.spi.TermVoteStore.TermAndVote;

/** The term/vote file: saved durably and atomically, read back after a reopen, locked, and fail-stop. */
class FileTermVoteStoreTest {

    @TempDir
    Path dir;

    @Test
    void aNewStoreHasTermZeroAndNoVote() throws IOException {
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            assertThat(store.load()).isEqualTo(new TermAndVote(0, null));
        }
    }

    @Test
    void savedStateSurvivesAReopenIncludingNoVoteAndUnicodeIds() throws IOException {
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            store.save(new TermAndVote(3, "n2"));
            store.save(new TermAndVote(4, null));
        }
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            assertThat(store.load()).isEqualTo(new TermAndVote(4, null));
            store.save(new TermAndVote(4, "nœud-3"));
        }
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            assertThat(store.load()).isEqualTo(new TermAndVote(4, "nœud-3"));
        }
    }

    @Test
    void aTemporaryFileLeftByACrashBeforeTheRenameIsIgnored() throws IOException {
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            store.save(new TermAndVote(5, "n1"));
        }
        Files.write(dir.resolve(FileTermVoteStore.FILE_NAME + ".tmp"), new byte[] {1, 2, 3});
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            assertThat(store.load()).isEqualTo(new TermAndVote(5, "n1"));
        }
        assertThat(dir.resolve(FileTermVoteStore.FILE_NAME + ".tmp")).doesNotExist();
    }

    @Test
    void aTruncatedFileRefusesToOpen() throws IOException {
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            store.save(new TermAndVote(5, "n1"));
        }
        Path file = dir.resolve(FileTermVoteStore.FILE_NAME);
        byte[] bytes = Files.readAllBytes(file);
        for (int length = 0; length < bytes.length; length++) {
            Files.write(file, Arrays.copyOf(bytes, length));
            assertThatThrownBy(() -> FileTermVoteStore.open(dir).close())
                    .isInstanceOf(CorruptStorageException.class).hasMessageContaining(file.toString());
        }
    }

    @Test
    void theTermNeverGoesDown() throws IOException {
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            store.save(new TermAndVote(7, null));
            assertThatThrownBy(() -> store.save(new TermAndVote(6, "n1"))).isInstanceOf(IllegalStateException.class);
            assertThat(store.load()).isEqualTo(new TermAndVote(7, null));
        }
    }

    @Test
    void aSecondOpenOfTheSameDirectoryFails() throws IOException {
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            assertThat(store.load().currentTerm()).isZero();
            assertThatThrownBy(() -> FileTermVoteStore.open(dir)).isInstanceOf(IOException.class)
                    .hasMessageContaining("already open").hasMessageContaining("term-vote.lock");
        }
        FileTermVoteStore.open(dir).close();
    }

    @Test
    void aFailedForceFailsThatSaveAndEveryLaterOneAndKeepsTheOldState() throws IOException {
        FaultyChannels disk = new FaultyChannels();
        try (FileTermVoteStore store = FileTermVoteStore.open(dir, disk)) {
            store.save(new TermAndVote(1, "n1"));
            disk.failForces();
            assertThatThrownBy(() -> store.save(new TermAndVote(2, "n2"))).isInstanceOf(StorageFailedException.class)
                    .hasMessageContaining("injected EIO on fsync");
            disk.heal();
            assertThatThrownBy(() -> store.save(new TermAndVote(3, "n3"))).isInstanceOf(StorageFailedException.class)
                    .hasMessageContaining("failed earlier");
            assertThat(store.load()).isEqualTo(new TermAndVote(1, "n1"));
        }
        try (FileTermVoteStore store = FileTermVoteStore.open(dir)) {
            assertThat(store.load()).isEqualTo(new TermAndVote(1, "n1"));
        }
    }
}
