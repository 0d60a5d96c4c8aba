package org.raftkit.message;

/**
 * A follower's answer to {@link InstallSnapshot}: how far it has the file, or that it holds the
 * snapshot's state. The leader streams chunks from {@code nextOffset}, which also lets a transfer
 * interrupted by a lost chunk or a dropped connection resume where it stopped.
 *
 * @param term              currentTerm, for the leader to update itself
 * @param lastIncludedIndex the snapshot this answers about
 * @param nextOffset        bytes of that snapshot's file the follower holds: where the next chunk must start
 * @param done              true once the follower holds the snapshot's state (installed it, or
 *                          already had every entry it covers)
 */
public record InstallSnapshotReply(String from, String to, long term, long lastIncludedIndex, long nextOffset,
                                   boolean done) implements RaftMessage {
}
