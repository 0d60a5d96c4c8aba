package org.raftkit.storage;

import java.io.RandomAccessFile;
import java.nio.file.Path;

import org.junit.jupiter.api.io.TempDir;
import org.raftkit.memory.MemorySnapshotStore;
import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;

/** The contract against {@link FileSnapshotStore}; a reopen closes the store and opens its directory again. */
class FileSnapshotStoreContractTest extends SnapshotStoreContractTest {

    @TempDir
    Path dir;

    @Override
    SnapshotStore create(int keep) throws Exception {
        return FileSnapshotStore.open(dir.resolve("snapshots"), FileSnapshotStore.Options.defaults()
                .withKeepSnapshots(keep));
    }

    @Override
    SnapshotStore reopen(SnapshotStore store) throws Exception {
        FileSnapshotStore files = (FileSnapshotStore) store;
        files.close();
        return FileSnapshotStore.open(files.directory(), files.options());
    }

    @Override
    SnapshotStore createOther() {
        return new MemorySnapshotStore();
    }

    @Override
    void damage(SnapshotStore store, SnapshotInfo snapshot, long offset) throws Exception {
        Path file = ((FileSnapshotStore) store).file(snapshot.index(), snapshot.term());
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ 0xff);
        }
    }
}
