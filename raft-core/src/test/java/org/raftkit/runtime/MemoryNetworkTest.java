package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.raftkit.memory.MemoryNetwork;
import org.raftkit.message.HeartbeatReply;
import org.raftkit.message.Message;
import org.raftkit.spi.Transport;

/** The in-memory network: delivery, isolation, drop rules, restarts. */
class MemoryNetworkTest {

    private static final Duration WAIT = Duration.ofSeconds(5);

    @Test
    void deliversDirectlyAndHonoursIsolationAndDropRulesUntilHealed() {
        try (MemoryNetwork network = new MemoryNetwork()) {
            List<Message> atB = started(network, "b");
            Transport a = network.transport("a");
            a.start(m -> { });

            a.send(msg("a", "b", 1));
            assertThat(atB).containsExactly(msg("a", "b", 1));

            network.isolate("b");
            a.send(msg("a", "b", 2));
            network.heal();
            network.dropIf(m -> m instanceof HeartbeatReply h && h.readRound() == 3);
            a.send(msg("a", "b", 3));
            a.send(msg("a", "b", 4));
            network.heal();
            a.send(msg("a", "b", 3));

            assertThat(atB).containsExactly(msg("a", "b", 1), msg("a", "b", 4), msg("a", "b", 3));
            assertThat(network.droppedCount()).isEqualTo(2);
            assertThat(network.deliveredCount()).isEqualTo(3);
        }
    }

    @Test
    void dropsMessagesToUnknownOrClosedNodesAndLetsAClosedNodeRejoin() {
        try (MemoryNetwork network = new MemoryNetwork()) {
            Transport a = network.transport("a");
            a.start(m -> { });
            a.send(msg("a", "nobody", 1));
            List<Message> atB = started(network, "b");
            assertThatThrownBy(() -> network.transport("b")).isInstanceOf(IllegalStateException.class);

            Transport b = network.transport("c");
            b.close();
            a.send(msg("a", "c", 2));
            List<Message> atC = started(network, "c"); // a restarted node gets a fresh transport
            a.send(msg("a", "c", 3));

            assertThat(atB).isEmpty();
            assertThat(atC).containsExactly(msg("a", "c", 3));
            assertThat(network.droppedCount()).isEqualTo(2);
        }
    }

    @Test
    void threadedDeliveryHandsMessagesOverOnTheNetworkThread() {
        try (MemoryNetwork network = new MemoryNetwork(MemoryNetwork.Delivery.THREADED)) {
            List<String> threads = Collections.synchronizedList(new ArrayList<>());
            Transport b = network.transport("b");
            b.start(m -> threads.add(Thread.currentThread().getName()));
            Transport a = network.transport("a");
            a.start(m -> { });
            for (int i = 0; i < 100; i++) {
                a.send(msg("a", "b", i));
            }
            Await.await(WAIT, () -> threads.size() == 100);
            assertThat(threads).allMatch("memory-network"::equals);
        }
    }

    private static List<Message> started(MemoryNetwork network, String id) {
        List<Message> received = Collections.synchronizedList(new ArrayList<>());
        network.transport(id).start(received::add);
        return received;
    }

    private static Message msg(String from, String to, long n) {
        return new HeartbeatReply(from, to, 1, n);
    }
}
