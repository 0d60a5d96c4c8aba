package org.raftkit.core;

/**
 * A linearizable read that became safe (thesis §6.4): once the state machine has applied up to
 * {@code readIndex}, the read identified by {@code context} may be answered from local state.
 *
 * @param context   the identifier the driver passed to {@link RaftNode#readIndex}
 * @param readIndex the commit index confirmed by a quorum after the read arrived
 */
public record ReadState(long context, long readIndex) {
}
