package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.spi.IdentityStore.Identity;

/** The data directory's identity: absent at first, durable once saved, damage refused with the file named. */
class FileIdentityStoreTest {

    @TempDir
    Path dir;

    @Test
    void anIdentityIsAbsentUntilSavedAndSurvivesAReopen() throws Exception {
        assertThat(FileIdentityStore.open(dir).load()).isNull();
        FileIdentityStore.open(dir).save(new Identity("raft-kv-0123456789abcdef", "n1"));

        assertThat(FileIdentityStore.open(dir).load()).isEqualTo(new Identity("raft-kv-0123456789abcdef", "n1"));
        assertThat(dir.resolve(FileIdentityStore.FILE_NAME)).exists();
    }

    @Test
    void aDamagedIdentityIsRefusedNamingTheFile() throws Exception {
        FileIdentityStore.open(dir).save(new Identity("c", "n1"));
        Path file = dir.resolve(FileIdentityStore.FILE_NAME);
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 6] ^= 1;
        Files.write(file, bytes);

        assertThatThrownBy(() -> FileIdentityStore.open(dir)).isInstanceOf(CorruptStorageException.class)
                .hasMessageContaining(file.toString());
    }
}
