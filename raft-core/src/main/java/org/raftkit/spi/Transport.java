package org.raftkit.spi;

import org.raftkit.message.Message;

/**
 * Carries messages between the nodes of one cluster.
 *
 * <p>Raft tolerates loss, duplication and reordering: every message is retried or superseded by
 * a later one. So the transport may drop a message whenever it must (peer down, outbound buffer
 * full) and never needs to retry on its own. It must not deliver a {@code ClientRequest} (a write
 * forwarded to the leader) twice, as a TCP connection never does: the leader's BUSY or NOT_LEADER
 * answer to it is taken to mean that the write was not appended, which a second copy could make
 * untrue. A transport that replays messages after reconnecting must leave those out.
 */
public interface Transport extends AutoCloseable {

    /**
     * Starts delivering inbound messages addressed to this node to {@code handler}. Called once,
     * by the runtime, before any {@link #send}.
     */
    void start(MessageHandler handler);

    /**
     * Sends a message to {@code message.to()}. Called on any of the runtime's threads (the Raft
     * thread; the storage thread, as acknowledgements leave once durable; the apply thread, as a
     * leader answers forwarded calls), so it must be thread-safe. Must not block. May drop the
     * message; must not throw for a peer that is down or slow.
     */
    void send(Message message);

    /**
     * The most entry bytes (the sum of {@code Entry.sizeBytes()}) one AppendEntries may carry on
     * this transport; a larger message would be dropped on every send, and replication would stall.
     * The server refuses to build unless a full batch ({@code RaftConfig.maxAppendBytes}) and a
     * single largest command ({@code RaftConfig.maxCommandBytes}) each fit. Any thread; never
     * blocks. Unbounded by default.
     */
    default long maxEntryBytesPerMessage() {
        return Long.MAX_VALUE;
    }

    /**
     * The cluster's members changed: {@code addresses} maps every member of the configuration now
     * in use (both parts while joint, voters and learners alike) except this node to its Raft
     * address, as the configuration gives it (thesis §4.1: a node uses the latest configuration in
     * its log, committed or not). The configuration is the one source of truth for addresses: a
     * transport connects to members that are new or moved and drops connections to members that
     * are gone. An empty address means the member was configured by id alone (a cluster built with
     * {@code RaftServer.Builder.peers}); the transport then keeps whatever it was configured with
     * for that id.
     *
     * <p>Called by the runtime on the Raft thread: once at start with the configuration the node
     * starts with, then each time it changes, always before any message to a new member is sent;
     * until a configuration is committed, the members of the committed one are included too (a
     * leader keeps replicating to the servers a change removes until it commits). Not called while
     * the node has no configuration at all (it waits to be added): the transport then keeps the
     * peers it was configured with, through which the joining node answers the leader that adds
     * it, so give a joining node's transport the current members' addresses.
     * Must not block (connect in the background) and must not throw; an address the transport
     * cannot parse is logged and that member left unreachable, which Raft survives like a down
     * peer. Messages to members not (or no longer) in the map may be dropped. The default does
     * nothing: a transport with a fixed peer list keeps it.
     */
    default void updateMembers(java.util.Map<String, String> addresses) {
    }

    /** Stops sending and delivering and releases threads and sockets. Idempotent. */
    @Override
    void close();

    /** Receives inbound messages. */
    @FunctionalInterface
    interface MessageHandler {
        /**
         * Called on a transport thread for each inbound message addressed to this node. Must not
         * block: the runtime only enqueues the message for its Raft thread.
         */
        void onMessage(Message message);
    }
}
