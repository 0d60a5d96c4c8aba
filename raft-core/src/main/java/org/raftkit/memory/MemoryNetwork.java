package org.raftkit.memory;

import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

import org.raftkit.message.Message;
import org.raftkit.spi.Transport;

/**
 * An in-process network for tests and embedding: {@link #transport(String)} gives each node its
 * {@link Transport}, and a message sent by one is handed to the target's handler.
 *
 * <ul>
 *   <li>{@link Delivery#DIRECT}: on the sender's thread, at once. Cheap and ordered per sender.</li>
 *   <li>{@link Delivery#THREADED}: on one network thread, through a bounded queue; a message that
 *       does not fit is dropped.</li>
 * </ul>
 * Either way {@code send} never blocks (the runtime's handlers only enqueue) and never throws.
 *
 * <p>Faults for tests: {@link #isolate} cuts a node off in both directions, {@link #dropIf} drops
 * every message matching a rule, {@link #heal} undoes both. A message to a node without a started,
 * open transport is dropped, as a real network would. Thread-safe.
 */
public final class MemoryNetwork implements AutoCloseable {

    /** Where a message is handed to its target's handler. */
    public enum Delivery {
        /** On the sender's thread, during {@code send}. */
        DIRECT,
        /** On the network's own thread. */
        THREADED
    }

    /** Most messages queued for the network thread in {@link Delivery#THREADED} mode; more are dropped. */
    public static final int THREADED_QUEUE_CAPACITY = 65_536;

    private final Delivery delivery;
    private final ConcurrentHashMap<String, MemoryTransport> endpoints = new ConcurrentHashMap<>();
    private final Set<String> isolated = ConcurrentHashMap.newKeySet();
    private final CopyOnWriteArrayList<Predicate<Message>> dropRules = new CopyOnWriteArrayList<>();
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final ArrayBlockingQueue<Message> queue;
    private final Thread deliveryThread;
    private volatile boolean closed;

    /** A network delivering directly on the sender's thread. */
    public MemoryNetwork() {
        this(Delivery.DIRECT);
    }

    /** A network with the given delivery; {@link Delivery#THREADED} starts a daemon thread now. */
    public MemoryNetwork(Delivery delivery) {
        this.delivery = Objects.requireNonNull(delivery, "delivery");
        if (delivery == Delivery.THREADED) {
            queue = new ArrayBlockingQueue<>(THREADED_QUEUE_CAPACITY);
            deliveryThread = new Thread(this::deliverQueued, "memory-network");
            deliveryThread.setDaemon(true);
            deliveryThread.start();
        } else {
            queue = null;
            deliveryThread = null;
        }
    }

    /**
     * A transport for node {@code nodeId}. A node whose previous transport was closed (a restart)
     * gets a fresh one.
     *
     * @throws IllegalStateException if that node already has an open transport, or the network is closed
     */
    public Transport transport(String nodeId) {
        Objects.requireNonNull(nodeId, "nodeId");
        if (closed) {
            throw new IllegalStateException("network is closed");
        }
        MemoryTransport fresh = new MemoryTransport(this, nodeId);
        MemoryTransport previous = endpoints.compute(nodeId, (id, old) -> old == null || old.isClosed() ? fresh : old);
        if (previous != fresh) {
            throw new IllegalStateException("node " + nodeId + " already has an open transport");
        }
        return fresh;
    }

    /** Cuts {@code nodeId} off: every message from or to it is dropped until {@link #heal()}. */
    public void isolate(String nodeId) {
        isolated.add(Objects.requireNonNull(nodeId, "nodeId"));
    }

    /** Drops every message for which {@code rule} is true, until {@link #heal()}. */
    public void dropIf(Predicate<Message> rule) {
        dropRules.add(Objects.requireNonNull(rule, "rule"));
    }

    /** Ends every isolation and drop rule. */
    public void heal() {
        isolated.clear();
        dropRules.clear();
    }

    /** Messages handed to a handler so far. */
    public long deliveredCount() {
        return delivered.get();
    }

    /** Messages dropped so far (faults, unknown or closed targets, full queue). */
    public long droppedCount() {
        return dropped.get();
    }

    /** Stops delivering; every later message is dropped. Does not close the nodes' transports. */
    @Override
    public void close() {
        closed = true;
        if (deliveryThread != null) {
            deliveryThread.interrupt();
        }
    }

    /** Called by a node's transport; never blocks, never throws. */
    void send(MemoryTransport from, Message m) {
        if (closed || from.isClosed() || shouldDrop(m)) {
            dropped.incrementAndGet();
            return;
        }
        if (delivery == Delivery.DIRECT) {
            deliver(m);
        } else if (!queue.offer(m)) {
            dropped.incrementAndGet();
        }
    }

    private boolean shouldDrop(Message m) {
        if (!isolated.isEmpty() && (isolated.contains(m.from()) || isolated.contains(m.to()))) {
            return true;
        }
        for (Predicate<Message> rule : dropRules) {
            if (rule.test(m)) {
                return true;
            }
        }
        return false;
    }

    private void deliver(Message m) {
        MemoryTransport target = endpoints.get(m.to());
        // Faults are checked again at delivery: a THREADED message may have waited across an isolate().
        if (target == null || closed || shouldDrop(m) || !target.deliver(m)) {
            dropped.incrementAndGet();
            return;
        }
        delivered.incrementAndGet();
    }

    private void deliverQueued() {
        try {
            while (!closed) {
                deliver(queue.take());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // closing
        }
    }
}
