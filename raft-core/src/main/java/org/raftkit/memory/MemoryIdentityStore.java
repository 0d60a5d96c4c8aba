package org.raftkit.memory;

import org.raftkit.spi.IdentityStore;

/** An {@link IdentityStore} in memory, for tests and embedding: it forgets with the process. Thread-safe. */
public final class MemoryIdentityStore implements IdentityStore {

    private volatile Identity identity;

    @Override
    public Identity load() {
        return identity;
    }

    @Override
    public void save(Identity newIdentity) {
        identity = java.util.Objects.requireNonNull(newIdentity, "identity");
    }

    @Override
    public void close() {
        // nothing to release
    }
}
