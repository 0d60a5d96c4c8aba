package org.raftkit.storage;

import java.nio.file.Path;

import org.junit.jupiter.api.io.TempDir;
import org.raftkit.memory.MemorySnapshotStore;
import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;

/** The contract against {@link MemorySnapshotStore}; a reopen is a {@link MemorySnapshotStore#copy()}. */
class MemorySnapshotStoreContractTest extends SnapshotStoreContractTest {

    @TempDir
    Path dir;

    @Override
    SnapshotStore create(int keep) {
        return new MemorySnapshotStore(keep);
    }

    @Override
    SnapshotStore reopen(SnapshotStore store) {
        MemorySnapshotStore copy = ((MemorySnapshotStore) store).copy();
        store.close();
        return copy;
    }

    @Override
    SnapshotStore createOther() throws Exception {
        return FileSnapshotStore.open(dir.resolve("other"));
    }

    @Override
    void damage(SnapshotStore store, SnapshotInfo snapshot, long offset) {
        ((MemorySnapshotStore) store).damage(snapshot, offset);
    }
}
