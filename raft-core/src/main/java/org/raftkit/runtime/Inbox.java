package org.raftkit.runtime;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.raftkit.message.AppendEntries;
import org.raftkit.message.ClientReply;
import org.raftkit.message.ClientRequest;
import org.raftkit.message.Entry;
import org.raftkit.message.Message;
import org.raftkit.spi.Scheduler;

/**
 * Everything the Raft thread is asked to do, by any other thread. Two queues:
 * <ul>
 *   <li>local work (client calls, {@link Persisted} and {@link Applied} reports): never dropped.
 *       Client calls are bounded by the {@link RequestBudget} before they get here; reports are
 *       bounded by construction (one per storage group, one per applied batch).</li>
 *   <li>inbound messages: bounded in count and bytes; a message that does not fit is dropped,
 *       which Raft tolerates (the sender retries or sends something newer).</li>
 * </ul>
 * Multi-producer, single consumer (the Raft loop). Producers wake the Raft loop through its
 * {@link Scheduler.Loop}, which costs them nothing while the loop is busy anyway.
 */
final class Inbox {

    /** Bytes counted per message on top of the payloads it carries. */
    private static final int MESSAGE_OVERHEAD_BYTES = 64;

    /** Entries up to this index (and this term) are durable: report for {@code RaftNode.onPersisted}. */
    record Persisted(long index, long term) {
    }

    /** The state machine has applied every entry up to this index: report for {@code RaftNode.onApplied}. */
    record Applied(long index) {
    }

    /** The snapshot loop wrote this node's snapshot (null: writing failed; it is tried again later). */
    record SnapshotTaken(org.raftkit.spi.SnapshotStore.SnapshotInfo info) {
    }

    /**
     * The snapshot loop has a whole, checked snapshot from {@code leader}, durable: report for
     * {@code RaftNode.onSnapshotReceived}. Its state is already open ({@code state}), so that
     * newer snapshots replacing it on disk before the apply loop restores it cannot take it away.
     */
    record SnapshotReceived(org.raftkit.spi.SnapshotStore.SnapshotInfo info, String leader, java.io.InputStream state) {
    }

    /** {@code RaftServer.snapshot()}: take one now; complete the future with its index. */
    record SnapshotRequest(java.util.concurrent.CompletableFuture<Long> future) {
    }

    private final Queue<Object> local = new ConcurrentLinkedQueue<>();
    /** A queued message with the size it was counted at, so that taking it out need not size it again. */
    private record Sized(Message message, long bytes) {
    }

    private final Queue<Sized> messages = new ConcurrentLinkedQueue<>();
    private final int maxMessages;
    private final long maxMessageBytes;
    private final AtomicInteger messageCount = new AtomicInteger();
    private final AtomicLong messageBytes = new AtomicLong();
    private final AtomicLong droppedMessages = new AtomicLong();

    /** The Raft loop, once started; wakes before that are not needed (its first turn drains). */
    private volatile Scheduler.Loop consumer;

    Inbox(int maxMessages, long maxMessageBytes) {
        this.maxMessages = maxMessages;
        this.maxMessageBytes = maxMessageBytes;
    }

    /** Sets the loop that consumes; called once, when the node starts. */
    void bindConsumer(Scheduler.Loop loop) {
        this.consumer = loop;
    }

    /** Queues local work; any thread. */
    void postLocal(Object work) {
        local.add(work);
        wake();
    }

    /** Queues an inbound message; any thread. Returns false if it was dropped because the queue is full. */
    boolean offerMessage(Message m) {
        long size = sizeBytes(m);
        if (messageCount.incrementAndGet() > maxMessages) {
            messageCount.decrementAndGet();
            droppedMessages.incrementAndGet();
            return false;
        }
        if (messageBytes.addAndGet(size) > maxMessageBytes) {
            messageBytes.addAndGet(-size);
            messageCount.decrementAndGet();
            droppedMessages.incrementAndGet();
            return false;
        }
        messages.add(new Sized(m, size));
        wake();
        return true;
    }

    /** Next local work, or null. Consumer only. */
    Object pollLocal() {
        return local.poll();
    }

    /** Next inbound message, or null. Consumer only. */
    Message pollMessage() {
        Sized s = messages.poll();
        if (s == null) {
            return null;
        }
        messageBytes.addAndGet(-s.bytes());
        messageCount.decrementAndGet();
        return s.message();
    }

    /** Inbound messages dropped so far because the queue was full. */
    long droppedMessages() {
        return droppedMessages.get();
    }

    /** Wakes the consumer so that it drains soon; any thread. */
    void wake() {
        Scheduler.Loop loop = consumer;
        if (loop != null) {
            loop.wake();
        }
    }

    private static long sizeBytes(Message m) {
        if (m instanceof AppendEntries ae) {
            long bytes = MESSAGE_OVERHEAD_BYTES;
            for (Entry e : ae.entries()) {
                bytes += e.sizeBytes();
            }
            return bytes;
        }
        if (m instanceof ClientRequest cr) {
            return MESSAGE_OVERHEAD_BYTES + (long) cr.payload().length;
        }
        if (m instanceof ClientReply cr) {
            return MESSAGE_OVERHEAD_BYTES + (long) (cr.result() == null ? 0 : cr.result().length);
        }
        return MESSAGE_OVERHEAD_BYTES;
    }
}
