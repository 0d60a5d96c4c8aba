package org.raftkit.core;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import org.raftkit.message.RaftMessage;

/**
 * The network of a {@link ScenarioCluster}: one FIFO queue of messages in flight (so each link
 * keeps its order), plus the test's controls over it. A cut link or a loss filter loses messages;
 * a hold filter keeps them queued until released. It delivers nothing itself: the cluster takes
 * messages out with {@link #take} and hands them to the receiver.
 */
final class ScenarioNetwork {

    /** Messages sent and not yet delivered or lost, oldest first. */
    private final List<RaftMessage> queue = new ArrayList<>();
    /** Every message any node sent, delivered or not. */
    private final List<RaftMessage> sent = new ArrayList<>();
    /** Every message handed to a node, in delivery order. */
    private final List<RaftMessage> delivered = new ArrayList<>();
    /** Every message lost (cut links, loss filters, crashed receivers). */
    private final List<RaftMessage> dropped = new ArrayList<>();

    /** Directed links that lose every message: "from->to". */
    private final Set<String> cutLinks = new HashSet<>();
    /** Messages matching one of these are lost. */
    private final List<Predicate<RaftMessage>> lossFilters = new ArrayList<>();
    /** Messages matching one of these stay queued until {@link #release()}. */
    private final List<Predicate<RaftMessage>> holdFilters = new ArrayList<>();

    /** Queues messages a node sent, losing those on cut links or matching a loss filter. */
    void send(List<RaftMessage> messages) {
        for (RaftMessage m : messages) {
            sent.add(m);
            if (isLost(m)) {
                dropped.add(m);
            } else {
                queue.add(m);
            }
        }
    }

    /** Removes and returns the oldest queued message that matches {@code which} and is not held, or null. */
    RaftMessage take(Predicate<RaftMessage> which) {
        for (int i = 0; i < queue.size(); i++) {
            RaftMessage m = queue.get(i);
            if (which.test(m) && !isHeld(m)) {
                return queue.remove(i);
            }
        }
        return null;
    }

    /** Whether the network would lose {@code m} now. */
    boolean isLost(RaftMessage m) {
        return cutLinks.contains(link(m.from(), m.to())) || lossFilters.stream().anyMatch(f -> f.test(m));
    }

    private boolean isHeld(RaftMessage m) {
        return holdFilters.stream().anyMatch(f -> f.test(m));
    }

    private static String link(String from, String to) {
        return from + "->" + to;
    }

    void recordDelivered(RaftMessage m) {
        delivered.add(m);
    }

    void recordDropped(RaftMessage m) {
        dropped.add(m);
    }

    /** Loses every queued message matching {@code which}. */
    void dropQueuedIf(Predicate<RaftMessage> which) {
        for (var it = queue.iterator(); it.hasNext(); ) {
            RaftMessage m = it.next();
            if (which.test(m)) {
                it.remove();
                dropped.add(m);
            }
        }
    }

    /** Cuts every link between the two sides, both ways, losing what is on them. */
    void partition(Collection<String> side, Collection<String> otherSide) {
        for (String a : side) {
            for (String b : otherSide) {
                cutLinks.add(link(a, b));
                cutLinks.add(link(b, a));
            }
        }
        dropQueuedIf(m -> cutLinks.contains(link(m.from(), m.to())));
    }

    /** Restores every link, lifts loss filters and releases held messages. */
    void heal() {
        cutLinks.clear();
        lossFilters.clear();
        holdFilters.clear();
    }

    /** From now on, messages matching {@code which} are lost (queued ones too). */
    void loseIf(Predicate<RaftMessage> which) {
        lossFilters.add(which);
        dropQueuedIf(which);
    }

    /** From now on, messages matching {@code which} wait in the queue until {@link #release()}. */
    void hold(Predicate<RaftMessage> which) {
        holdFilters.add(which);
    }

    /** Lets held messages go. */
    void release() {
        holdFilters.clear();
    }

    List<RaftMessage> inFlight() {
        return Collections.unmodifiableList(queue);
    }

    List<RaftMessage> sent() {
        return Collections.unmodifiableList(sent);
    }

    List<RaftMessage> delivered() {
        return Collections.unmodifiableList(delivered);
    }

    List<RaftMessage> dropped() {
        return Collections.unmodifiableList(dropped);
    }
}
