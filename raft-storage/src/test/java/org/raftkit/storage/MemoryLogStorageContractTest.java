package org.raftkit.storage;

import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.spi.LogStorage;

/** The contract against {@link MemoryLogStorage}; a "reopen" is the same instance (memory survives nothing else). */
class MemoryLogStorageContractTest extends LogStorageContractTest {

    @Override
    LogStorage create() {
        return new MemoryLogStorage();
    }

    @Override
    LogStorage reopen(LogStorage log) {
        return log;
    }

    @Override
    boolean compactsExactly() {
        return true;
    }
}
