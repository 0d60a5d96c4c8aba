package org.raftkit.transport.netty;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import org.raftkit.message.AppendEntries;
import org.raftkit.message.ClientReply;
import org.raftkit.message.ClientRequest;
import org.raftkit.message.Entry;
import org.raftkit.message.InstallSnapshot;
import org.raftkit.message.Message;

/**
 * The messages waiting for one peer's connection, in two lanes with their own byte budgets:
 * <ul>
 *   <li>the <b>control</b> lane: votes, heartbeats, every reply, ReadIndex. Small, and what keeps
 *       leadership and elections alive;</li>
 *   <li>the <b>bulk</b> lane: AppendEntries, InstallSnapshot chunks and forwarded client calls,
 *       which carry payloads.</li>
 * </ul>
 * {@link #poll} always empties the control lane first, and the connection only takes from the
 * lanes while its socket is writable, so a heartbeat waits behind at most what Netty and the
 * kernel already hold, never behind a queue of large AppendEntries. AppendEntries stay in order
 * among themselves (one lane), which pipelined replication relies on for efficiency.
 *
 * <p>{@link #offer} is called on any thread; {@link #poll} and {@link #clear} on the peer's event
 * loop. Sizes are estimates (payload bytes plus a fixed overhead), the same on the way in and out.
 */
final class OutboundLanes {

    /** Estimated bytes of a message without payloads: envelope, ids, numbers. */
    static final int MESSAGE_OVERHEAD_BYTES = 64;

    private final Queue<Message> control = new ConcurrentLinkedQueue<>();
    private final Queue<Message> bulk = new ConcurrentLinkedQueue<>();
    private final AtomicLong controlBytes = new AtomicLong();
    private final AtomicLong bulkBytes = new AtomicLong();
    private final long controlLimitBytes;
    private final long bulkLimitBytes;

    OutboundLanes(long controlLimitBytes, long bulkLimitBytes) {
        this.controlLimitBytes = controlLimitBytes;
        this.bulkLimitBytes = bulkLimitBytes;
    }

    /** Queues {@code m} in its lane; false (and nothing queued) if that lane's budget would be exceeded. */
    boolean offer(Message m) {
        boolean isBulk = isBulk(m);
        if (!reserve(isBulk ? bulkBytes : controlBytes, isBulk ? bulkLimitBytes : controlLimitBytes,
                estimateBytes(m))) {
            return false;
        }
        (isBulk ? bulk : control).offer(m);
        return true;
    }

    /** The next message to write, control lane first; null if both are empty. */
    Message poll() {
        Message m = control.poll();
        if (m != null) {
            controlBytes.addAndGet(-estimateBytes(m));
            return m;
        }
        m = bulk.poll();
        if (m != null) {
            bulkBytes.addAndGet(-estimateBytes(m));
        }
        return m;
    }

    /** Empties both lanes; returns how many messages were dropped. */
    int clear() {
        int n = 0;
        while (poll() != null) {
            n++;
        }
        return n;
    }

    /** Estimated bytes queued in both lanes. */
    long queuedBytes() {
        return controlBytes.get() + bulkBytes.get();
    }

    /** Whether {@code m} travels in the bulk lane. */
    static boolean isBulk(Message m) {
        return m instanceof AppendEntries || m instanceof InstallSnapshot || m instanceof ClientRequest
                || m instanceof ClientReply;
    }

    /** The size counted against the budgets: payload bytes plus fixed overheads. */
    static long estimateBytes(Message m) {
        long bytes = MESSAGE_OVERHEAD_BYTES;
        if (m instanceof AppendEntries) {
            for (Entry e : ((AppendEntries) m).entries()) {
                bytes += e.sizeBytes();
            }
        } else if (m instanceof InstallSnapshot) {
            bytes += ((InstallSnapshot) m).data().length;
        } else if (m instanceof ClientRequest) {
            bytes += ((ClientRequest) m).payload().length;
        } else if (m instanceof ClientReply) {
            ClientReply r = (ClientReply) m;
            bytes += (r.result() == null ? 0 : r.result().length) + (r.detail() == null ? 0 : r.detail().length());
        }
        return bytes;
    }

    private static boolean reserve(AtomicLong used, long limit, long bytes) {
        while (true) {
            long now = used.get();
            if (now + bytes > limit) {
                return false;
            }
            if (used.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }
}
