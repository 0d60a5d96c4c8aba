package org.raftkit.memory;

import java.util.Objects;

import org.raftkit.message.Message;
import org.raftkit.spi.Transport;

/**
 * One node's end of a {@link MemoryNetwork}. Obtained from {@link MemoryNetwork#transport(String)}.
 * Thread-safe; {@link #send} never blocks and never throws.
 */
public final class MemoryTransport implements Transport {

    private final MemoryNetwork network;
    private final String nodeId;
    private volatile MessageHandler handler;
    private volatile boolean closed;
    private volatile java.util.Map<String, String> members = java.util.Map.of();

    MemoryTransport(MemoryNetwork network, String nodeId) {
        this.network = network;
        this.nodeId = nodeId;
    }

    /** The node this transport belongs to. */
    public String nodeId() {
        return nodeId;
    }

    /**
     * Starts handing this node's inbound messages to {@code handler}. Once only.
     *
     * @throws IllegalStateException if already started or closed
     */
    @Override
    public synchronized void start(MessageHandler handler) {
        Objects.requireNonNull(handler, "handler");
        if (closed || this.handler != null) {
            throw new IllegalStateException("transport of " + nodeId + " is " + (closed ? "closed" : "already started"));
        }
        this.handler = handler;
    }

    /** Sends through the network; dropped if this transport is closed or the network drops it. */
    @Override
    public void send(Message message) {
        network.send(this, message);
    }

    /**
     * Records the members of the configuration in use ({@link #members()}); the network routes by
     * node id, so there is nothing to connect. Raft thread; never blocks.
     */
    @Override
    public void updateMembers(java.util.Map<String, String> addresses) {
        members = java.util.Map.copyOf(addresses);
    }

    /** The members the runtime last told this transport of, with their addresses; empty before. */
    public java.util.Map<String, String> members() {
        return members;
    }

    /** Stops sending and delivering. Idempotent. */
    @Override
    public void close() {
        closed = true;
    }

    boolean isClosed() {
        return closed;
    }

    /** Hands an inbound message to the handler; false if there is none or this transport is closed. */
    boolean deliver(Message m) {
        MessageHandler h = handler;
        if (closed || h == null) {
            return false;
        }
        h.onMessage(m);
        return true;
    }

    @Override
    public String toString() {
        return "MemoryTransport{" + nodeId + (closed ? ", closed" : "") + "}";
    }
}
