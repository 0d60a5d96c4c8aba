package org.raftkit;

/**
 * A bounded stale read ({@code RaftServer.staleRead(query, maxLagEntries)}) was refused: this node
 * could be further behind the leader than the bound allows, because it is that far behind the
 * commit index it last heard of, or because it has not heard from a leader within an election
 * timeout (it may be cut off and not know how far behind it is). Nothing was read; retry later,
 * on another node, or with a linearizable read.
 */
public final class TooFarBehindException extends RaftException {

    private static final long serialVersionUID = 1L;

    /** @param message how far behind, or why it cannot tell */
    public TooFarBehindException(String message) {
        super(message, null, false);
    }
}
