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

    LocalRequest(Kind kind, byte[] payload, long deadlineNanos, RequestBudget budget) {
        super(kind, payload, deadlineNanos, budget);
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
        future.complete(result);
    }

    @Override
    void onFailure(RaftException failure) {
        future.completeExceptionally(failure);
    }
}
