package org.raftkit.message;

import java.util.List;

/**
 * AppendEntries RPC (Figure 2, §5.3): replicates log entries. Heartbeats are a separate,
 * smaller message ({@link Heartbeat}) so they never wait behind a large batch.
 *
 * @param term         leader's term
 * @param prevLogIndex index of log entry immediately preceding new ones
 * @param prevLogTerm  term of prevLogIndex entry
 * @param entries      log entries to store, in index order starting at prevLogIndex + 1
 * @param leaderCommit leader's commitIndex
 */
public record AppendEntries(String from, String to, long term, long prevLogIndex, long prevLogTerm,
                            List<Entry> entries, long leaderCommit) implements RaftMessage {

    /** Index of the last entry carried, or prevLogIndex when there are none. */
    public long lastIndex() {
        return prevLogIndex + entries.size();
    }
}
