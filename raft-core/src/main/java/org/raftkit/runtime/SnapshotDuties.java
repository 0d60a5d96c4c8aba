package org.raftkit.runtime;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.raftkit.RaftException;
import org.raftkit.SnapshotConfig;
import org.raftkit.core.RaftNode;
import org.raftkit.core.Ready;
import org.raftkit.message.Entry;
import org.raftkit.message.InstallSnapshot;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Raft loop's part in snapshots (Raft paper §7, Figure 13): when to take one, what to tell the
 * core once one is durable, and where each piece of the core's snapshot work goes. Raft loop
 * only; it touches no snapshot bytes (the {@link SnapshotLoop} does).
 *
 * <p>A snapshot is taken when {@code everyEntries} entries or {@code everyBytes} bytes were applied
 * since the last one, when {@code intervalMillis} passed with anything applied, or on
 * {@code RaftServer.snapshot()}; at most one at a time. After a failure it waits a second before
 * trying again. Once one is durable the core may send it to followers and compact the log up to
 * {@code trailingEntries} before it.
 */
final class SnapshotDuties {

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotDuties.class);
    private static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final String id;
    private final RaftNode node;
    private final SnapshotConfig config;
    private final SnapshotLoop loop;
    private final Applier applier;
    private final LiveStatus status;
    private final long intervalNanos;
    /** The newest snapshot this node holds, or null. */
    private SnapshotInfo latest;
    /** A snapshot received from a leader, with its state already open. */
    private record Received(SnapshotInfo info, java.io.InputStream state) {
    }

    /** Snapshots received from a leader and reported to the core, until it installs them. */
    private final Map<Long, Received> received = new HashMap<>();
    private final List<CompletableFuture<Long>> requests = new ArrayList<>();
    private boolean inProgress;
    private long bytesSinceSnapshot;
    /** When the last snapshot was taken (or the node started): the interval trigger counts from it. */
    private long lastSnapshotNanos;
    /** When the last attempt failed; none is made within a second of it. */
    private long failedNanos;
    private boolean failed;

    /**
     * @param loop   the snapshot loop, or null when this node takes no snapshots (no store, or a
     *               state machine without {@code snapshot()}): then only {@code RaftServer.snapshot()}
     *               answers, with a failure
     * @param latest the snapshot the node started from, or null
     */
    SnapshotDuties(String id, RaftNode node, SnapshotConfig config, SnapshotLoop loop, Applier applier,
                   LiveStatus status, SnapshotInfo latest, long nowNanos) {
        this.id = id;
        this.node = node;
        this.config = config;
        this.loop = loop;
        this.applier = applier;
        this.status = status;
        this.latest = latest;
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(config.intervalMillis());
        this.lastSnapshotNanos = nowNanos;
        status.snapshotIndex = latest == null ? 0 : latest.index();
    }

    /** {@code RaftServer.snapshot()}: take one now (or join the one under way). */
    void request(CompletableFuture<Long> future) {
        if (loop == null) {
            future.completeExceptionally(new RaftException(id + " takes no snapshots (no SnapshotStore, or a "
                    + "state machine whose snapshot() returns null)"));
            return;
        }
        requests.add(future);
    }

    /** Starts a snapshot if one is due; once per Raft loop turn. */
    void maybeTake(long nowNanos) {
        if (loop == null || inProgress) {
            return;
        }
        long since = node.appliedIndex() - (latest == null ? 0 : latest.index());
        if (failed && nowNanos - failedNanos < RETRY_NANOS) {
            return;
        }
        boolean due = !requests.isEmpty() || since >= config.everyEntries() || bytesSinceSnapshot >= config.everyBytes()
                || nowNanos - lastSnapshotNanos >= intervalNanos;
        if (due && since > 0) {
            inProgress = true;
            applier.capture();
        } else if (!requests.isEmpty() && since <= 0 && latest != null) {
            completeRequests(latest.index());
        }
    }

    /** Committed entries handed to the apply loop; counts towards {@code everyBytes}. */
    void onCommitted(List<Entry> entries) {
        for (Entry e : entries) {
            bytesSinceSnapshot += e.sizeBytes();
        }
    }

    /** The snapshot loop wrote this node's snapshot ({@code info}), or failed (null). */
    void onTaken(SnapshotInfo info, long nowNanos) {
        inProgress = false;
        failed = info == null;
        failedNanos = nowNanos;
        if (info == null) {
            for (CompletableFuture<Long> f : requests) {
                f.completeExceptionally(new RaftException(id + " could not take a snapshot; see its log"));
            }
            requests.clear();
            return;
        }
        bytesSinceSnapshot = 0;
        lastSnapshotNanos = nowNanos;
        if (latest == null || info.index() > latest.index()) {
            latest = info;
        }
        node.onSnapshotTaken(info.index(), info.term());
        node.compactLog(info.index() - config.trailingEntries());
        status.snapshotIndex = latest.index();
        completeRequests(info.index());
    }

    /** The snapshot loop has a whole, checked snapshot from the leader; the core installs it. */
    void onReceived(SnapshotInfo info, String leader, java.io.InputStream state) {
        Received earlier = received.put(info.index(), new Received(info, state));
        if (earlier != null) {
            closeQuietly(earlier.state());
        }
        if (latest == null || info.index() > latest.index()) {
            latest = info;
            status.snapshotIndex = info.index();
        }
        // The snapshot carries the configuration at its index (thesis §4.1): installing it makes
        // that the configuration in force there.
        node.onSnapshotReceived(info.index(), info.term(), leader, info.configuration());
    }

    /**
     * Hands out the core's snapshot work, before the committed entries of the same Ready: the
     * state machine must be reset from an installed snapshot before anything after it is applied.
     */
    void handOut(Ready.SnapshotWork work, long leaderTerm) {
        for (Ready.SnapshotSend send : work.sends()) {
            if (loop != null && latest != null && latest.index() == send.index()) {
                loop.submit(new SnapshotLoop.Send(send.peer(), latest, leaderTerm));
            } else {
                LOG.warn("{} cannot send {} the snapshot at {}: it does not hold it", id, send.peer(), send.index());
            }
        }
        for (InstallSnapshot chunk : work.chunks()) {
            if (loop != null) {
                loop.submit(chunk);
            }
        }
        if (work.installed() != null) {
            Received r = received.remove(work.installed().index());
            if (r == null) {
                throw new IllegalStateException(id + ": the core installed a snapshot at " + work.installed().index()
                        + " that was never received");
            }
            applier.restore(r.info(), r.state());
            bytesSinceSnapshot = 0;
        }
        received.values().removeIf(r -> {
            boolean stale = r.info().index() <= node.commitIndex();
            if (stale) {
                closeQuietly(r.state());
            }
            return stale;
        });
    }

    /** The node is stopping: nobody will take the snapshot asked for. */
    void fail(RaftException failure) {
        for (CompletableFuture<Long> f : requests) {
            f.completeExceptionally(failure);
        }
        requests.clear();
    }

    private static void closeQuietly(java.io.InputStream in) {
        try {
            in.close();
        } catch (java.io.IOException ignored) {
            // a snapshot's open state, never read: nothing to lose
        }
    }

    private void completeRequests(long index) {
        for (CompletableFuture<Long> f : requests) {
            f.complete(index);
        }
        requests.clear();
    }
}
