package org.raftkit.runtime;

import java.util.concurrent.CompletableFuture;

import org.raftkit.RaftException;

/**
 * A call made on this node through {@code RaftServer}: it finishes by completing the caller's
 * future. The future completes on whichever RaftKit thread finishes the call (usually the apply
 * thread), so dependent stages that block should use the {@code …Async} variants.
 */
final class LocalRequest extends Request {

    private final CompletableFuture<byte[]> future = new CompletableFuture<>();
    /** A write's session, whose call this is until it ends; null for reads. */
    private final ClientSession session;
    /** A write's sequence number in {@link #session}. */
    private final long sequence;

    LocalRequest(Kind kind, byte[] payload, long deadlineNanos, RequestBudget budget) {
        this(kind, payload, deadlineNanos, budget, null, 0);
    }

    /** A write as a session command: {@code payload} already carries the session header. */
    LocalRequest(Kind kind, byte[] payload, long deadlineNanos, RequestBudget budget, ClientSession session,
                 long sequence) {
        super(kind, payload, deadlineNanos, budget);
        this.session = session;
        this.sequence = sequence;
    }

    CompletableFuture<byte[]> future() {
        return future;
    }

    @Override
    boolean forwardable() {
        return true;
    }

    @Override
    void onSuccess(byte[] result) {
        closeSession();
        future.complete(result);
    }

    @Override
    void onFailure(RaftException failure) {
        closeSession();
        future.completeExceptionally(failure);
    }

    private void closeSession() {
        if (session != null) {
            session.close(sequence);
        }
    }
}
