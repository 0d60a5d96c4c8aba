package org.raftkit.examples.kv;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

import org.raftkit.metrics.RaftMetrics;

/**
 * RaftKit's {@link RaftMetrics} bound to a Micrometer {@link MeterRegistry}. With a Prometheus
 * registry, {@code raftkit.commit.latency} (nanoseconds) becomes the histogram
 * {@code raftkit_commit_latency_seconds}, a counter {@code raftkit.commits} becomes
 * {@code raftkit_commits_total}, and so on; docs/OPERATIONS.md lists them all.
 */
final class MicrometerMetrics implements RaftMetrics {

    private final MeterRegistry registry;
    /** Micrometer holds function counters' state weakly: keep the suppliers alive as long as this binding. */
    private final List<LongSupplier> held = new ArrayList<>();

    MicrometerMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public RaftMetrics.Counter counter(String name, String description, Map<String, String> tags) {
        io.micrometer.core.instrument.Counter c = io.micrometer.core.instrument.Counter.builder(name).description(description).tags(tags(tags)).register(registry);
        return c::increment;
    }

    @Override
    public void counter(String name, String description, Map<String, String> tags, LongSupplier total) {
        synchronized (held) {
            held.add(total);
        }
        FunctionCounter.builder(name, total, LongSupplier::getAsLong).description(description).tags(tags(tags))
                .register(registry);
    }

    @Override
    public void gauge(String name, Unit unit, String description, Map<String, String> tags, LongSupplier value) {
        Gauge.builder(name, value::getAsLong).description(description).tags(tags(tags)).baseUnit(baseUnit(unit))
                .strongReference(true).register(registry);
    }

    @Override
    public Distribution distribution(String name, Unit unit, String description, Map<String, String> tags) {
        if (unit == Unit.NANOSECONDS) {
            Timer t = Timer.builder(name).description(description).tags(tags(tags))
                    .publishPercentileHistogram()
                    .minimumExpectedValue(Duration.ofNanos(10_000)).maximumExpectedValue(Duration.ofSeconds(10))
                    .register(registry);
            return nanos -> t.record(nanos, TimeUnit.NANOSECONDS);
        }
        DistributionSummary s = DistributionSummary.builder(name).description(description).tags(tags(tags))
                .baseUnit(baseUnit(unit)).publishPercentileHistogram()
                .minimumExpectedValue(1.0).maximumExpectedValue(100_000.0)
                .register(registry);
        return s::record;
    }

    private static Tags tags(Map<String, String> tags) {
        Tags t = Tags.empty();
        for (Map.Entry<String, String> e : tags.entrySet()) {
            t = t.and(e.getKey(), e.getValue());
        }
        return t;
    }

    private static String baseUnit(Unit unit) {
        return switch (unit) {
            case NONE, NANOSECONDS -> null;
            case ENTRIES -> "entries";
            case BYTES -> "bytes";
        };
    }
}
