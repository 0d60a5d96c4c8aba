package org.raftkit.storage;

/** Whether {@link SegmentedLogStorage#sync()} really forces data to the disk. */
public enum SyncPolicy {
    /**
     * Every {@code sync()} forces each segment written since the last one, and the directory when
     * a segment was created or deleted. The only policy under which Raft's guarantees hold.
     */
    ALWAYS,
    /**
     * {@code sync()} hands buffered bytes to the operating system and returns without forcing them:
     * a machine crash or power loss can lose acknowledged entries. For benchmarks only; opening a
     * log with it logs a warning.
     */
    NEVER
}
