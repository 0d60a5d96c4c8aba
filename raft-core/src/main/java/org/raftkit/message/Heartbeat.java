package org.raftkit.message;

/**
 * The leader's periodic "I am still here" (§5.2), separate from {@link AppendEntries} so it is
 * small and never queued behind a large batch.
 *
 * @param term        leader's term
 * @param commitIndex the leader's commitIndex, capped at the receiver's known matchIndex so the
 *                    receiver never commits an entry it does not hold
 * @param readRound   the newest ReadIndex confirmation round (§6.4); echoed in the reply
 */
public record Heartbeat(String from, String to, long term, long commitIndex, long readRound) implements RaftMessage {
}
