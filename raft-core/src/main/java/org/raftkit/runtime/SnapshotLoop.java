package org.raftkit.runtime;

import java.io.IOException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import org.raftkit.Role;
import org.raftkit.SnapshotConfig;
import org.raftkit.StateMachine;
import org.raftkit.message.InstallSnapshot;
import org.raftkit.message.InstallSnapshotReply;
import org.raftkit.spi.Scheduler;
import org.raftkit.core.Configuration;
import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;
import org.raftkit.spi.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshot loop ({@code raftkit-<id>-snapshot}): every byte of every snapshot passes here, so
 * none is ever on the Raft loop (Raft paper §7, Figure 13). It
 * <ul>
 *   <li>writes the snapshots the apply loop captured, while applies go on, and tells the Raft loop
 *       when one is durable ({@link Inbox.SnapshotTaken});</li>
 *   <li>as leader, streams snapshots to the followers the core names, in chunks of
 *       {@code chunkBytes}, at most {@code chunksInFlight} unacknowledged, resuming from the offset
 *       the follower says it holds. A transfer resends from its last acknowledged offset when no
 *       chunk was acknowledged for {@code transferTimeoutMillis}: a progress timeout, so a large
 *       snapshot on a slow link completes. It ends when the follower holds the snapshot, when the
 *       core starts another to the same follower, or when this node no longer leads in its term;</li>
 *   <li>as follower, writes the chunks the core accepted, answers each with the offset it holds,
 *       and once the last one is in, has the store check and publish the file, then tells the Raft
 *       loop ({@link Inbox.SnapshotReceived}), whose core installs it and answers the leader.</li>
 * </ul>
 * An I/O error fails that snapshot or transfer only: it is logged, and taken again later.
 */
final class SnapshotLoop {

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotLoop.class);
    /** Chunks kept that arrived ahead of a missing one; beyond it they are dropped and sent again. */
    private static final int MAX_EARLY_CHUNKS = 16;
    /** Answers naming the same offset, with later chunks in flight, that mean a chunk was lost. */
    private static final int REPEATED_ACKS_BEFORE_RESEND = 3;

    /** A captured state machine to write as the snapshot at (index, term). */
    record Write(StateMachine.Snapshot capture, long index, long term, Configuration configuration) {
    }

    /** Send {@code peer} the snapshot {@code info} as leader of {@code leaderTerm}. */
    record Send(String peer, SnapshotInfo info, long leaderTerm) {
    }

    /** One follower's transfer: sent up to {@code nextOffset}, acknowledged up to {@code acked}. */
    private static final class Transfer {
        final Send send;
        /** The snapshot's file, open for the whole transfer (opened with the first chunk). */
        SnapshotStore.ChunkReader reader;
        long nextOffset;
        long acked;
        long lastProgressNanos;
        /** Answers in a row naming {@code acked} while chunks after it are in flight. */
        int repeatedAcks;
        /** The last offset below {@code acked} an answer named, and how many answers in a row named it. */
        long lowOffset = -1;
        int lowAcks;

        Transfer(Send send, long now) {
            this.send = send;
            this.lastProgressNanos = now;
        }

        void close() {
            if (reader != null) {
                reader.close();
                reader = null;
            }
        }
    }

    private final String id;
    private final SnapshotStore store;
    private final SnapshotConfig config;
    private final Transport transport;
    private final Inbox raftInbox;
    private final LiveStatus status;
    private final Scheduler clock;
    private final long timeoutNanos;
    private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
    private final Map<String, Transfer> transfers = new HashMap<>();
    private SnapshotStore.Receiver receiver;
    /** Chunks of the snapshot being received that arrived ahead of a missing one, by offset. */
    private final java.util.TreeMap<Long, InstallSnapshot> early = new java.util.TreeMap<>();
    private long receivingIndex;
    private long receivingTerm;
    private final LoopHandle loop = new LoopHandle();
    private volatile boolean stopping;

    SnapshotLoop(String id, SnapshotStore store, SnapshotConfig config, Transport transport,
                 Inbox raftInbox, LiveStatus status, Scheduler clock) {
        this.id = id;
        this.store = store;
        this.config = config;
        this.transport = transport;
        this.raftInbox = raftInbox;
        this.status = status;
        this.clock = clock;
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(config.transferTimeoutMillis());
    }

    void bind(Scheduler.Loop loop) {
        this.loop.bind(loop);
    }

    /** Queues work: a {@link Write}, a {@link Send}, an {@link InstallSnapshot} chunk or an {@link InstallSnapshotReply}. Any loop. */
    void submit(Object work) {
        queue.add(work);
        loop.wake();
    }

    void stop() {
        stopping = true;
        loop.stop();
    }

    /**
     * One turn: handles what is queued, then sends what each transfer's window allows.
     *
     * @return when to run again, as {@link Scheduler.Step#run()} says
     */
    long step() {
        if (stopping) {
            abandon();
            return Scheduler.Step.IDLE;
        }
        Object work;
        while ((work = queue.poll()) != null) {
            if (work instanceof Write w) {
                write(w);
            } else if (work instanceof Send s) {
                Transfer replaced = transfers.put(s.peer(), new Transfer(s, clock.nanoTime()));
                if (replaced != null) {
                    replaced.close();
                }
            } else if (work instanceof InstallSnapshot chunk) {
                receive(chunk);
            } else if (work instanceof InstallSnapshotReply r) {
                onReply(r);
            }
        }
        return sendWindows();
    }

    // ---------------------------------------------------------------------------------------------
    // This node's own snapshots
    // ---------------------------------------------------------------------------------------------

    private void write(Write w) {
        try (SnapshotStore.Writer writer = store.begin(w.index(), w.term(), w.configuration())) {
            w.capture().writeTo(writer.body());
            SnapshotInfo info = writer.publish();
            LOG.info("{} took a snapshot at index {} term {} ({} bytes)", id, info.index(), info.term(), info.sizeBytes());
            raftInbox.postLocal(new Inbox.SnapshotTaken(info));
        } catch (IOException | RuntimeException e) {
            LOG.warn("{} could not write the snapshot at index {}; the log is kept and it is taken again later",
                    id, w.index(), e);
            raftInbox.postLocal(new Inbox.SnapshotTaken(null));
        } finally {
            w.capture().release();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Leader: sending (Figure 13, "Invoked by leader to send chunks of a snapshot to a follower")
    // ---------------------------------------------------------------------------------------------

    private long sendWindows() {
        if (transfers.isEmpty()) {
            return Scheduler.Step.IDLE;
        }
        long now = clock.nanoTime();
        long next = Scheduler.Step.IDLE;
        long window = (long) config.chunkBytes() * config.chunksInFlight();
        for (Iterator<Transfer> it = transfers.values().iterator(); it.hasNext(); ) {
            Transfer t = it.next();
            if (status.role != Role.LEADER || status.term != t.send.leaderTerm()) {
                it.remove(); // no longer leader of that term: the new leader decides
                t.close();
                continue;
            }
            if (now - t.lastProgressNanos >= timeoutNanos) {
                t.nextOffset = t.acked; // chunks or their answers were lost: resend from what is known
                t.lastProgressNanos = now;
            }
            SnapshotInfo info = t.send.info();
            try {
                if (t.reader == null) {
                    t.reader = store.openChunks(info);
                }
                while (t.nextOffset < info.sizeBytes() && t.nextOffset - t.acked < window) {
                    byte[] data = t.reader.read(t.nextOffset, config.chunkBytes());
                    boolean done = t.nextOffset + data.length >= info.sizeBytes();
                    transport.send(new InstallSnapshot(id, t.send.peer(), t.send.leaderTerm(), info.index(), info.term(),
                            t.nextOffset, data, done));
                    t.nextOffset += data.length;
                }
            } catch (IOException e) {
                LOG.warn("{} could not read the snapshot at {} to send to {}; the transfer stops", id, info.index(),
                        t.send.peer(), e);
                it.remove();
                t.close();
                continue;
            }
            next = Math.min(next, t.lastProgressNanos + timeoutNanos);
        }
        return next;
    }

    private void onReply(InstallSnapshotReply r) {
        Transfer t = transfers.get(r.from());
        if (t == null || r.term() != t.send.leaderTerm() || r.lastIncludedIndex() != t.send.info().index()) {
            return;
        }
        if (r.done()) {
            transfers.remove(r.from()).close();
            return;
        }
        if (r.nextOffset() > t.acked) {
            t.acked = Math.min(r.nextOffset(), t.send.info().sizeBytes());
            // Never send again what the follower holds (after a resend, answers to the chunks
            // sent before it may move the acknowledged offset past the send offset).
            t.nextOffset = Math.max(t.nextOffset, t.acked);
            t.lastProgressNanos = clock.nanoTime();
            t.repeatedAcks = 0;
            t.lowAcks = 0;
        } else if (r.nextOffset() < t.acked) {
            // Below what the follower acknowledged: either it started the file over (it restarted,
            // another snapshot replaced this one, the file failed a check), or this is an old
            // answer overtaken by newer ones. Going back on every such answer resent what the
            // follower had, and each resend drew more of them (long-run seed 51462: a million
            // chunks). A follower that starts over answers 0 to every chunk but the first, and
            // keeps answering its own offset after that; an overtaken answer is one among current
            // ones. So: go back at once to 0, and to another offset once it is named
            // REPEATED_ACKS_BEFORE_RESEND times in a row.
            t.lowAcks = r.nextOffset() == t.lowOffset ? t.lowAcks + 1 : 1;
            t.lowOffset = r.nextOffset();
            if (r.nextOffset() == 0 || t.lowAcks >= REPEATED_ACKS_BEFORE_RESEND) {
                t.acked = r.nextOffset();
                t.nextOffset = r.nextOffset();
                t.repeatedAcks = 0;
                t.lowAcks = 0;
            }
            return;
        } else if (t.nextOffset > t.acked && ++t.repeatedAcks == REPEATED_ACKS_BEFORE_RESEND) {
            // The follower keeps answering later chunks with the same offset: the chunk there was
            // lost. Resend from it once; more of the same answers are the chunks already in flight
            // and resend nothing (the progress timeout covers a resend that is lost too). Resending
            // on every such answer fed itself on a reordering network: one seed sent 50 million
            // chunks.
            t.nextOffset = t.acked;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Follower: receiving (Figure 13, receiver implementation, rules 2 to 5)
    // ---------------------------------------------------------------------------------------------

    private void receive(InstallSnapshot chunk) {
        try {
            if (receiver == null || receivingIndex != chunk.lastIncludedIndex() || receivingTerm != chunk.lastIncludedTerm()) {
                if (chunk.offset() != 0) {
                    reply(chunk, 0); // another snapshot, or one we lost (restart): start it over
                    return;
                }
                // Rule 2: create a new snapshot file if first chunk (offset is 0); a newer one replaces the old.
                closeReceiver();
                early.clear();
                receiver = store.receive(chunk.lastIncludedIndex(), chunk.lastIncludedTerm());
                receivingIndex = chunk.lastIncludedIndex();
                receivingTerm = chunk.lastIncludedTerm();
            }
            if (chunk.offset() > receiver.receivedBytes()) {
                // Ahead of a chunk not yet here (lost, or overtaken): keep a few, so the leader
                // need not send them again once the gap is filled; say where we are.
                if (early.size() < MAX_EARLY_CHUNKS) {
                    early.putIfAbsent(chunk.offset(), chunk);
                }
                reply(chunk, receiver.receivedBytes());
                return;
            }
            if (chunk.offset() < receiver.receivedBytes()) {
                reply(chunk, receiver.receivedBytes()); // a duplicate: say where we are
                return;
            }
            // Rule 3: write data into the snapshot file at given offset; then any kept chunk it reaches.
            receiver.write(chunk.offset(), chunk.data());
            InstallSnapshot next;
            while (!chunk.done() && (next = early.remove(receiver.receivedBytes())) != null) {
                receiver.write(next.offset(), next.data());
                chunk = next;
            }
            early.headMap(receiver.receivedBytes()).clear();
            status.snapshotReceivedBytes = receiver.receivedBytes();
            if (!chunk.done()) {
                // Rule 4: reply and wait for more data chunks if done is false.
                reply(chunk, receiver.receivedBytes());
                return;
            }
            // Rule 5: save snapshot file (the store checks it whole first).
            SnapshotInfo info = receiver.publish();
            receiver = null;
            status.snapshotReceivedBytes = 0;
            raftInbox.postLocal(new Inbox.SnapshotReceived(info, chunk.from(), store.openState(info)));
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn("{} discards the snapshot at {} from {}: {}", id, chunk.lastIncludedIndex(), chunk.from(),
                    e.getMessage());
            closeReceiver();
            reply(chunk, 0);
        }
    }

    private void reply(InstallSnapshot chunk, long nextOffset) {
        transport.send(new InstallSnapshotReply(id, chunk.from(), chunk.term(), chunk.lastIncludedIndex(), nextOffset,
                false));
    }

    private void closeReceiver() {
        early.clear();
        if (receiver != null) {
            receiver.close();
            receiver = null;
            status.snapshotReceivedBytes = 0;
        }
    }

    private void abandon() {
        transfers.values().forEach(Transfer::close);
        transfers.clear();
        closeReceiver();
        Object work;
        while ((work = queue.poll()) != null) {
            if (work instanceof Write w) {
                w.capture().release();
            }
        }
    }
}
