package org.raftkit.sim;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

import org.raftkit.message.AppendEntries;
import org.raftkit.message.ClientRequest;
import org.raftkit.message.Entry;
import org.raftkit.message.Message;
import org.raftkit.sim.SimContext.Event;
import org.raftkit.spi.Transport;

/**
 * The whole-node simulator's network: one {@link Transport} per incarnation, all routed through
 * {@link SimNetwork}'s cuts, delays, loss, duplication and reordering. A message is delivered to
 * whichever incarnation of its addressee is up when it arrives, so a message sent to one
 * incarnation may reach the next, as over a real network; a few arrive seconds late. Like a real
 * transport, it drops a message whose entries exceed its frame limit, on every send. Every message
 * may be duplicated except a forwarded {@link ClientRequest} (see {@code send}).
 */
final class NodeNetwork {

    private final SimContext ctx;
    private final SplittableRandom random;
    private final SimNetwork net;
    private final long maxEntryBytes;
    private final Map<String, Endpoint> up = new HashMap<>();
    /** Probability that a message is held back for seconds. */
    double lateRate;
    long sent;
    long droppedTooLarge;
    /**
     * Most InstallSnapshot chunks one run may send: a few hundred transfers of a few thousand
     * chunks. A sender that resends on every answer once sent 50 million (seed 1813).
     */
    static final long MAX_SNAPSHOT_CHUNKS = 1_000_000;
    /** InstallSnapshot chunks sent. */
    long snapshotChunks;
    /**
     * Most rejections of AppendEntries one follower may send one leader while its own log does not
     * move. Repairing a log takes a few (one per conflicting term, more on a reordering network,
     * but then the log grows between them); a leader and follower that cannot agree where to
     * resume exchange them endlessly, as fast as the link allows.
     */
    static final int MAX_REJECTIONS_WITHOUT_PROGRESS = 1_000;
    /** Per "follower->leader": {the follower's last log index when counting began, rejections since}. */
    private final Map<String, long[]> rejections = new HashMap<>();
    /** The last log index of a node now (set by the cluster), to tell a storm from a repair. */
    java.util.function.ToLongFunction<String> lastIndexOf = id -> -1;
    /** Set when a pair exceeded {@link #MAX_REJECTIONS_WITHOUT_PROGRESS}; the run fails with it. */
    String storm;
    /** Sees every message a node sends, before the network's faults (null: nobody looks); draws nothing. */
    java.util.function.Consumer<Message> onSend;

    NodeNetwork(SimContext ctx, SimNetwork net, long maxEntryBytes) {
        this.ctx = ctx;
        this.random = ctx.random;
        this.net = net;
        this.maxEntryBytes = maxEntryBytes;
    }

    /** A new transport for one incarnation of {@code nodeId}. */
    Endpoint open(String nodeId) {
        return new Endpoint(nodeId);
    }

    SimNetwork links() {
        return net;
    }

    private void send(Endpoint from, Message m) {
        if (!from.open || !m.from().equals(from.nodeId) || from.mute.getAsBoolean()) {
            return;
        }
        if (onSend != null) {
            onSend.accept(m);
        }
        sent++;
        if (m instanceof org.raftkit.message.InstallSnapshot && ++snapshotChunks > MAX_SNAPSHOT_CHUNKS && storm == null) {
            storm = "InstallSnapshot storm: " + snapshotChunks + " chunks sent in one run (at " + ctx.now() / 1_000 + " ms)";
        }
        if (m instanceof org.raftkit.message.AppendEntriesReply r && !r.success()) {
            countRejection(r);
        }
        if (entryBytes(m) > maxEntryBytes) {
            droppedTooLarge++;
            return;
        }
        if (net.isCut(m.from(), m.to())) {
            return;
        }
        long[] times = net.deliveryTimes(m.from(), m.to(), ctx.now());
        if (m instanceof ClientRequest && times.length > 1) {
            // A TCP connection never delivers a forwarded call twice, and the library relies on it:
            // a leader's BUSY or NOT_LEADER answer tells the forwarding node that this call was not
            // appended, which a second copy could make untrue (long-run seed 5358). The session
            // table makes copies harmless for what is applied; the library's own resends (failover)
            // are covered by Request#copyAbandoned.
            times = new long[] {times[0]};
        }
        for (long time : times) {
            if (lateRate > 0 && random.nextDouble() < lateRate) {
                time += 1_000_000 + random.nextLong(4_000_000); // 1 to 5 s late, across restarts
            }
            ctx.schedule(time, new Deliver(m));
        }
    }

    private void countRejection(org.raftkit.message.AppendEntriesReply r) {
        long last = lastIndexOf.applyAsLong(r.from());
        long[] count = rejections.computeIfAbsent(r.from() + "->" + r.to(), k -> new long[] {last, 0});
        if (count[0] != last) {
            count[0] = last;
            count[1] = 0;
        }
        if (++count[1] > MAX_REJECTIONS_WITHOUT_PROGRESS && storm == null) {
            storm = "replication storm: " + r.from() + " rejected " + count[1] + " AppendEntries from " + r.to()
                    + " while its log stayed at index " + last + " (at " + ctx.now() / 1_000 + " ms)";
        }
    }

    private static long entryBytes(Message m) {
        if (m instanceof AppendEntries ae) {
            long bytes = 0;
            for (Entry e : ae.entries()) {
                bytes += e.sizeBytes();
            }
            return bytes;
        }
        if (m instanceof ClientRequest cr) {
            return cr.payload().length + (long) Entry.OVERHEAD_BYTES;
        }
        if (m instanceof org.raftkit.message.InstallSnapshot is) {
            return is.data().length + 64L;
        }
        return 0;
    }

    /**
     * Delivers a message no node sent (an attacker's, or a buggy member's) after {@code delayMicros},
     * past any cut: the forger is not on the simulated links.
     */
    void forge(Message m, long delayMicros) {
        ctx.schedule(ctx.now() + delayMicros, new SimContext.Event() {
            @Override
            void run() {
                Endpoint to = up.get(m.to());
                if (to != null && to.open) {
                    to.handler.onMessage(m);
                }
            }
        });
    }

    private void deliver(Message m) {
        Endpoint to = up.get(m.to());
        if (to == null || !to.open || net.isCut(m.from(), m.to())) {
            return;
        }
        to.handler.onMessage(m);
    }

    /** One incarnation's transport. */
    final class Endpoint implements Transport {

        final String nodeId;
        /** True while the incarnation is going down (a crash in the middle of its turn): it sends nothing. */
        BooleanSupplier mute = () -> false;
        private MessageHandler handler;
        private boolean open;

        Endpoint(String nodeId) {
            this.nodeId = nodeId;
        }

        @Override
        public void start(MessageHandler handler) {
            this.handler = handler;
            this.open = true;
            up.put(nodeId, this);
        }

        @Override
        public void send(Message message) {
            NodeNetwork.this.send(this, message);
        }

        @Override
        public long maxEntryBytesPerMessage() {
            return maxEntryBytes;
        }

        /** The incarnation crashed or closed: it sends and receives nothing more. */
        @Override
        public void close() {
            open = false;
            if (up.get(nodeId) == this) {
                up.remove(nodeId);
            }
        }
    }

    private final class Deliver extends Event {
        private final Message m;

        Deliver(Message m) {
            this.m = m;
        }

        @Override
        void run() {
            deliver(m);
        }
    }
}
