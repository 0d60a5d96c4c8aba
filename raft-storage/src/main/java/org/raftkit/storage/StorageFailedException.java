package org.raftkit.storage;

/**
 * A write, force or read failed, or failed earlier: the storage is in its failed state and every
 * later write throws this again (fail-stop). The runtime stops the node when storage throws; the
 * files are left as they were, and reopening them runs recovery.
 *
 * <p>There is deliberately no retry: after a failed fsync the kernel may already have dropped the
 * dirty pages it could not write, so a second fsync that succeeds proves nothing.
 */
public final class StorageFailedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Thrown by the call that saw the failure, or by a later call ({@code cause} is the first failure). */
    public StorageFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
