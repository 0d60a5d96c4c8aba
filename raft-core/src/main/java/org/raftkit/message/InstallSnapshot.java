package org.raftkit.message;

/**
 * One chunk of a snapshot the leader sends to a follower whose next entries it has compacted
 * (Raft paper Figure 13, thesis §5.3). The chunks are the snapshot file's bytes as the leader's
 * {@code SnapshotStore} holds it (header, state, CRC trailer), so the follower checks the whole
 * file before installing it.
 *
 * @param term              leader's term
 * @param lastIncludedIndex the snapshot replaces all entries up through and including this index
 * @param lastIncludedTerm  term of lastIncludedIndex
 * @param offset            byte offset where the chunk is positioned in the snapshot file
 * @param data              raw bytes of the snapshot chunk, starting at offset
 * @param done              true if this is the last chunk
 */
public record InstallSnapshot(String from, String to, long term, long lastIncludedIndex, long lastIncludedTerm,
                              long offset, byte[] data, boolean done) implements RaftMessage {
}
