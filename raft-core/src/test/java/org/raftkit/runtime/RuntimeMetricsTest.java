package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.raftkit.Role;
import org.raftkit.metrics.RaftMetrics;

/** What the runtime reports, driven by hand with a fake clock. */
class RuntimeMetricsTest {

    /** Metrics that go nowhere, for tests of the runtime's parts. */
    static RuntimeMetrics unreported() {
        return new RuntimeMetrics("n1", List.of("n1"), RaftMetrics.NONE, new LiveStatus("n1", List.of("n1")),
                new RequestBudget(1, 1), new Inbox(1, 1), System::nanoTime);
    }

    @Test
    void commitLatencyRunsFromProposalToCommitOnTheInjectedClock() {
        RecordingMetrics recorded = new RecordingMetrics();
        AtomicLong clock = new AtomicLong(1_000);
        RuntimeMetrics m = new RuntimeMetrics("n1", List.of("n1", "n2", "n3"), recorded,
                new LiveStatus("n1", List.of("n1", "n2", "n3")), new RequestBudget(10, 100), new Inbox(10, 100),
                clock::get);
        m.published(4);
        m.proposed(5);
        clock.addAndGet(300);
        m.proposed(6);
        clock.addAndGet(200);
        m.published(5);
        assertThat(recorded.values("raftkit.commit.latency")).containsExactly(500L);
        m.published(6);
        assertThat(recorded.values("raftkit.commit.latency")).containsExactly(500L, 200L);
        assertThat(recorded.counts.get("raftkit.commits")).isEqualTo(2);
        assertThat(recorded.counts.get("raftkit.proposals")).isEqualTo(2);
    }

    @Test
    void electionsAndLeaderChangesAreCountedOncePerChange() {
        RecordingMetrics recorded = new RecordingMetrics();
        RuntimeMetrics m = new RuntimeMetrics("n1", List.of("n1", "n2"), recorded, new LiveStatus("n1",
                List.of("n1", "n2")), new RequestBudget(10, 100), new Inbox(10, 100), System::nanoTime);
        m.roleChanged(Role.PRE_CANDIDATE, null);
        m.roleChanged(Role.CANDIDATE, null);
        m.roleChanged(Role.LEADER, "n1");
        m.roleChanged(Role.FOLLOWER, "n2");
        m.roleChanged(Role.FOLLOWER, "n2");
        assertThat(recorded.counts).containsEntry("raftkit.prevotes.started", 1L)
                .containsEntry("raftkit.elections.started", 1L).containsEntry("raftkit.leader.changes", 2L);
        assertThat(recorded.gauges).containsKeys("raftkit.follower.match.index{n2}", "raftkit.follower.lag.entries{n2}",
                "raftkit.term", "raftkit.pending.requests");
        assertThat(recorded.gauges.get("raftkit.follower.match.index{n2}").getAsLong()).isEqualTo(-1);
    }

    /** Keeps what is recorded, by metric name. */
    static final class RecordingMetrics implements RaftMetrics {
        final Map<String, Long> counts = new java.util.concurrent.ConcurrentHashMap<>();
        final Map<String, List<Long>> distributions = new java.util.concurrent.ConcurrentHashMap<>();
        final Map<String, java.util.function.LongSupplier> gauges = new java.util.concurrent.ConcurrentHashMap<>();

        List<Long> values(String name) {
            return distributions.getOrDefault(name, List.of());
        }

        @Override
        public Counter counter(String name, String description, Map<String, String> tags) {
            counts.put(name, 0L);
            return amount -> counts.merge(name, amount, Long::sum);
        }

        @Override
        public void counter(String name, String description, Map<String, String> tags,
                            java.util.function.LongSupplier total) {
            gauges.put(name, total);
        }

        @Override
        public void gauge(String name, Unit unit, String description, Map<String, String> tags,
                          java.util.function.LongSupplier value) {
            gauges.put(tags.containsKey("peer") ? name + "{" + tags.get("peer") + "}" : name, value);
        }

        @Override
        public Distribution distribution(String name, Unit unit, String description, Map<String, String> tags) {
            distributions.put(name, new java.util.concurrent.CopyOnWriteArrayList<>());
            return value -> distributions.get(name).add(value);
        }
    }
}
