package org.raftkit.sim;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The simulated network: which directed links are cut, and how long a message takes on a link.
 * Loss, duplication and reordering (through jitter) are drawn from the simulation's one random
 * source, so a seed fixes every delivery.
 */
final class SimNetwork {

    private final SplittableRandom random;
    private final List<String> nodes;
    /** Directed links that deliver nothing: "from->to". */
    private final Set<String> cut = new HashSet<>();

    /** Probability a message is lost. */
    double lossRate;
    /** Probability a message is delivered twice. */
    double duplicateRate;
    /** Extra random delay up to this many microseconds. */
    long jitterMicros;
    /**
     * Whether messages on one link may overtake each other. Off in good weather, as on the TCP
     * connection a real transport keeps per peer; on in storms, where Raft must stay safe anyway.
     */
    boolean reorder;
    /** Latest delivery time scheduled on each link, to keep links FIFO when not reordering. */
    private final long[][] lastDeliveryMicros;

    private final long[][] baseDelayMicros;

    SimNetwork(SplittableRandom random, List<String> nodes) {
        this.random = random;
        this.nodes = nodes;
        this.baseDelayMicros = new long[nodes.size()][nodes.size()];
        this.lastDeliveryMicros = new long[nodes.size()][nodes.size()];
        for (int i = 0; i < nodes.size(); i++) {
            for (int j = 0; j < nodes.size(); j++) {
                baseDelayMicros[i][j] = 200 + random.nextLong(3_000);
            }
        }
        calm();
    }

    /** Good weather: no loss, little jitter, links in order. */
    void calm() {
        lossRate = 0;
        duplicateRate = 0;
        jitterMicros = 500;
        reorder = false;
    }

    /** Bad weather: loss, duplicates, and often enough jitter to reorder. */
    void storm() {
        lossRate = 0.02 + random.nextDouble() * 0.15;
        duplicateRate = random.nextDouble() * 0.05;
        jitterMicros = 1_000 + random.nextLong(30_000);
        reorder = random.nextBoolean();
    }

    boolean isCut(String from, String to) {
        return cut.contains(from + "->" + to);
    }

    void cutOneWay(String from, String to) {
        cut.add(from + "->" + to);
    }

    void cutBothWays(String a, String b) {
        cutOneWay(a, b);
        cutOneWay(b, a);
    }

    /** Cuts every link between the two sides. */
    void partition(Set<String> sideA) {
        for (String a : nodes) {
            for (String b : nodes) {
                if (sideA.contains(a) != sideA.contains(b)) {
                    cutOneWay(a, b);
                }
            }
        }
    }

    void isolate(String node) {
        for (String other : nodes) {
            if (!other.equals(node)) {
                cutBothWays(node, other);
            }
        }
    }

    void heal() {
        cut.clear();
    }

    String describeCuts() {
        return cut.isEmpty() ? "none" : cut.toString();
    }

    /**
     * Delivery times for one message sent at {@code now}: empty when lost, two when duplicated.
     */
    long[] deliveryTimes(String from, String to, long now) {
        if (random.nextDouble() < lossRate) {
            return new long[0];
        }
        int f = nodes.indexOf(from);
        int t = nodes.indexOf(to);
        long base = baseDelayMicros[f][t];
        long first = now + base + random.nextLong(jitterMicros + 1);
        if (!reorder) {
            first = Math.max(first, lastDeliveryMicros[f][t]);
            lastDeliveryMicros[f][t] = first;
        }
        if (random.nextDouble() < duplicateRate) {
            return new long[] {first, now + base + random.nextLong(jitterMicros * 4 + 1)};
        }
        return new long[] {first};
    }
}
