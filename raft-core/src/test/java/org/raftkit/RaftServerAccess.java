package org.raftkit;

import org.raftkit.runtime.RaftRuntime;

/** Reaches the runtime behind a {@link RaftServer}, for the whole-node simulator's checks. */
public final class RaftServerAccess {

    private RaftServerAccess() {
    }

    public static RaftRuntime runtime(RaftServer server) {
        return server.runtime();
    }
}
