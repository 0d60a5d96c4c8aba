package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.Entry;

/** The sampled stage trace: off by default, one write in N followed through each stage on the leader. */
class CommandTraceTest {

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

    @AfterEach
    void clearProperties() {
        System.clearProperty("raftkit.trace.every");
        System.clearProperty("raftkit.trace.afterMillis");
    }

    @Test
    void isOffUnlessTheSystemPropertyAsksForIt() {
        assertThat(CommandTrace.fromSystemProperties("n1", nanos::get)).isNull();
        System.setProperty("raftkit.trace.every", "0");
        assertThat(CommandTrace.fromSystemProperties("n1", nanos::get)).isNull();
        System.setProperty("raftkit.trace.every", "many");
        assertThatThrownBy(() -> CommandTrace.fromSystemProperties("n1", nanos::get))
                .hasMessageContaining("raftkit.trace.every");
    }

    @Test
    void aSampledWriteIsStampedAtEachStageOnTheLeader() {
        System.setProperty("raftkit.trace.every", "2");
        CommandTrace trace = CommandTrace.fromSystemProperties("n1", nanos::get);

        CommandTrace.Sample first = trace.start();
        assertThat(trace.start()).as("one in every two").isNull();
        first.proposed(7);
        advanceMicros(10);
        trace.sent(new AppendEntries("n1", "n2", 1, 5, 1, List.of(entry(6), entry(7)), 5));
        advanceMicros(10);
        trace.synced(7);
        advanceMicros(10);
        trace.acknowledged(AppendEntriesReply.success("n2", "n1", 1, 5, 6));
        assertThat(trace.summary()).as("a reply up to 6 does not cover 7").contains("\"acknowledged\":{\"n\":0");
        trace.acknowledged(AppendEntriesReply.success("n2", "n1", 1, 5, 7));
        advanceMicros(10);
        trace.committed(7);
        advanceMicros(10);
        first.applied();
        advanceMicros(10);
        first.replied();
        advanceMicros(10);
        trace.acknowledged(AppendEntriesReply.success("n3", "n1", 1, 5, 7)); // after it finished: not stamped

        String summary = trace.summary();
        assertThat(summary).contains("\"samples\":1", "\"proposed\":{\"n\":1,\"p50\":0",
                "\"sent\":{\"n\":1,\"p50\":10", "\"synced\":{\"n\":1,\"p50\":20", "\"acknowledged\":{\"n\":1,\"p50\":30",
                "\"committed\":{\"n\":1,\"p50\":40", "\"applied\":{\"n\":1,\"p50\":50", "\"replied\":{\"n\":1,\"p50\":60");
    }

    @Test
    void writesForwardedOrFailedAndWritesInTheWarmUpAreLeftOut() {
        System.setProperty("raftkit.trace.every", "1");
        System.setProperty("raftkit.trace.afterMillis", "5");
        CommandTrace trace = CommandTrace.fromSystemProperties("n1", nanos::get);
        assertThat(trace.start()).as("in the warm-up").isNull();
        advanceMicros(5_000);

        CommandTrace.Sample forwarded = trace.start();
        forwarded.applied();
        forwarded.replied();
        CommandTrace.Sample failed = trace.start();
        failed.proposed(3);
        failed.abandon();
        trace.committed(3);

        assertThat(trace.summary()).contains("\"samples\":0", "\"committed\":{\"n\":0");
    }

    private void advanceMicros(long micros) {
        nanos.addAndGet(micros * 1_000);
    }

    private static Entry entry(long index) {
        return Entry.command(index, 1, new byte[16]);
    }
}
