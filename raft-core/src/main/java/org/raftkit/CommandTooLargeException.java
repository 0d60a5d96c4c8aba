package org.raftkit;

/**
 * A command larger than {@link RaftConfig#maxCommandBytes()}: refused before it was queued or
 * appended anywhere, so nothing happened. Retrying the same command cannot succeed.
 */
public final class CommandTooLargeException extends RaftException {

    private static final long serialVersionUID = 1L;

    private final long sizeBytes;
    private final long limitBytes;

    public CommandTooLargeException(long sizeBytes, long limitBytes) {
        super("command of " + sizeBytes + " bytes exceeds maxCommandBytes " + limitBytes, null, false);
        this.sizeBytes = sizeBytes;
        this.limitBytes = limitBytes;
    }

    /** The refused command's size in bytes. */
    public long sizeBytes() {
        return sizeBytes;
    }

    /** {@link RaftConfig#maxCommandBytes()} of the node that refused it. */
    public long limitBytes() {
        return limitBytes;
    }
}
