package org.raftkit.runtime;

import org.raftkit.core.RaftNode;

/**
 * Reaches inside a {@link RaftRuntime} for the whole-node simulator's checks. Safe only where no
 * loop of that node is running a turn: in the simulator, between events.
 */
public final class RuntimeAccess {

    private RuntimeAccess() {
    }

    /** The core the Raft loop drives. */
    public static RaftNode core(RaftRuntime runtime) {
        return runtime.raftLoop().node();
    }

    /** Entry bytes queued for the storage loop and not yet written. */
    public static long storageQueuedBytes(RaftRuntime runtime) {
        return runtime.storageWriter().queuedBytes();
    }
}
