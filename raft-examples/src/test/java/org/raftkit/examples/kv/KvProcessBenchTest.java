package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench --mode processes} and {@code --mode failover}: their parts (CPU time from /proc, the
 * load generator's response parser), their flags, and one short run of each on real processes; the
 * flags of {@code --mode replace} and {@code rolling-restart} and their gap arithmetic (no run: they
 * take half a minute and more).
 */
class KvProcessBenchTest {

    @TempDir
    Path dir;

    private static KvMainRun run(String... args) {
        return KvMainRun.of(args);
    }

    @Test
    void cpuTimeIsUserPlusSystemTicksCountedFromTheLastParenthesis() throws Exception {
        // A command name may hold spaces and parentheses; utime (14) = 7, stime (15) = 5.
        String stat = "4242 (java (bench) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 30 0 123 456 789";
        assertThat(ProcStat.parseCpuTicks(stat)).isEqualTo(12);
        assertThat(ProcStat.ticksToNanos(12)).isEqualTo(120_000_000L);
        assertThat(ProcStat.cpuNanos(ProcessHandle.current().pid())).isPositive();
    }

    @Test
    void threadsAreGroupedByPoolWithoutNodeIdsOrNumbers() {
        assertThat(ProcStat.group("kv-http-n1-3-2")).isEqualTo("kv-http");
        assertThat(ProcStat.group("raftkit-n2-raft")).isEqualTo("raftkit-raft");
        assertThat(ProcStat.group("GC Thread#1")).isEqualTo("GC Thread");
        assertThat(ProcStat.group("C2 CompilerThre")).isEqualTo("C2 CompilerThre");
        assertThat(ProcStat.threads(ProcessHandle.current().pid()).values())
                .anySatisfy(t -> assertThat(t.cpuNanos()).isPositive());
    }

    @Test
    void theLoadGeneratorTakesWholePipelinedResponsesOnly() {
        String two = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 14\r\n\r\n{\"revision\":1}"
                + "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}";
        ByteBuffer in = ByteBuffer.allocate(1024);
        in.put(two.substring(0, 40).getBytes(StandardCharsets.US_ASCII)).flip();
        assertThat(HttpLoad.takeResponse(in)).as("head incomplete").isZero();
        assertThat(in.position()).isZero();
        in.compact().put(two.substring(40, 80).getBytes(StandardCharsets.US_ASCII)).flip();
        assertThat(HttpLoad.takeResponse(in)).as("body incomplete").isZero();
        in.compact().put(two.substring(80).getBytes(StandardCharsets.US_ASCII)).flip();
        assertThat(HttpLoad.takeResponse(in)).isEqualTo(200);
        assertThat(HttpLoad.takeResponse(in)).isEqualTo(503);
        assertThat(in.hasRemaining()).isFalse();
    }

    /** {@code --mode reads}, briefly: six runs, every kind of read through the leader and a follower, none failing. */
    @Test
    void theReadModeReadsEveryWayThroughTheLeaderAndAFollower() {
        KvMainRun r = run("bench", "--mode", "reads", "--clients", "8", "--duration", "300ms", "--warmup", "100ms",
                "--rounds", "1", "--fsync", "false");
        assertThat(r.code()).as(r.err()).isZero();
        for (String read : new String[] {"linearizable", "lease", "stale"}) {
            for (String through : new String[] {"leader", "follower"}) {
                assertThat(r.out()).contains("\"read\":\"" + read + "\",\"through\":\"" + through + "\"");
            }
        }
        assertThat(r.out()).doesNotContainPattern("\"errors\":[1-9]").doesNotContain("\"opsPerSecond\":0,");
    }

    @Test
    void eachModeRefusesTheOthersFlags() {
        assertThat(run("bench", "--mode", "sideways").err()).contains("--mode must be in-jvm, reads, processes, failover, replace or rolling-restart");
        assertThat(run("bench", "--rounds", "2").err()).contains("--rounds is for --mode reads");
        assertThat(run("bench", "--kills", "3").err()).contains("--kills is for --mode processes, failover, replace or");
        assertThat(run("bench", "--mode", "processes", "--tls").err()).contains("--tls is for --mode in-jvm");
        assertThat(run("bench", "--mode", "failover", "--clients", "8", "--dir", dir.toString()).err())
                .contains("--clients is for --mode processes");
        KvMainRun tooDeep = run("bench", "--mode", "processes", "--clients", "256", "--connections", "1", "--dir", dir.toString());
        assertThat(tooDeep.code()).isEqualTo(2);
        assertThat(tooDeep.err()).contains("64 pipelined requests a connection");
    }

    @Test
    void theMembershipModesRefuseFlagsTheyWouldIgnore() {
        assertThat(run("bench", "--mode", "rolling-restart", "--stop", "gently", "--dir", dir.toString()).err())
                .contains("--stop must be graceful or kill, was 'gently'");
        assertThat(run("bench", "--mode", "replace", "--stop", "kill", "--dir", dir.toString()).err())
                .contains("--stop is for --mode rolling-restart");
        assertThat(run("bench", "--mode", "replace", "--duration", "10s", "--dir", dir.toString()).err())
                .contains("--duration is not for --mode replace");
        assertThat(run("bench", "--mode", "rolling-restart", "--target", "n1", "--dir", dir.toString()).err())
                .contains("--target must be leader or all");
        assertThat(run("bench", "--mode", "failover", "--phase", "5s", "--dir", dir.toString()).err())
                .contains("--phase is for --mode replace or rolling-restart");
        assertThat(run("bench", "--pause", "1s").err()).contains("--pause is for --mode processes, failover, replace");
    }

    @Test
    void theOneWriteFloorIsTwoFsyncsAndOneRoundTrip() throws Exception {
        OneWriteFloor.Result floor = OneWriteFloor.measure(dir.resolve("floor"), 16, 20, 200);
        assertThat(floor.fsyncMicros()).isPositive();
        assertThat(floor.roundTripMicros()).isPositive();
        assertThat(floor.floorMicros()).isEqualTo(2 * floor.fsyncMicros() + floor.roundTripMicros());
        assertThat(dir.resolve("floor")).isEmptyDirectory(); // its file is gone
    }

    @Test
    void theLongestGapBetweenWritesCountsTheWindowsEdges() {
        // Writes done at 10, 20 and 70 ms in a window of 0 to 100 ms: the gap from 20 to 70 is the longest.
        long ms = 1_000_000;
        assertThat(KvMembershipBench.gap(new long[]{10 * ms, 20 * ms, 70 * ms}, 0, 100 * ms, 0, "start"))
                .isEqualTo("\"maxGapBetweenWritesMillis\":50.0,\"maxGapStartedMillisAfter_start\":20");
        // No write after 40 ms: the window's end closes the gap.
        assertThat(KvMembershipBench.gap(new long[]{10 * ms, 40 * ms}, 0, 200 * ms, 0, "start"))
                .isEqualTo("\"maxGapBetweenWritesMillis\":160.0,\"maxGapStartedMillisAfter_start\":40");
    }

    @Test
    void processesModeReportsThroughputLatencyCpuPerWriteAndTheLeadersStages() {
        KvMainRun r = run("bench", "--mode", "processes", "--clients", "8", "--connections", "2", "--payload", "16",
                "--duration", "1s", "--warmup", "1s", "--fsync", "false", "--trace-every", "5", "--floor", "true",
                "--node-java-options", "-Xmx256m -XX:+UseSerialGC", "--dir", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(Long.parseLong(Json.field(r.out(), "operations"))).as(r.out()).isPositive();
        assertThat(r.out()).contains("\"cpuMicrosPerCommand\":", "\"jitCpuMicrosPerCommand\":", "\"byThread\":", "\"loadGenerator\":", "\"n1\":", "\"p999\":",
                "\"stageTrace\":[", "\"replied\":{\"n\":", "\"floor\":{\"fsyncMicrosP50\":", "\"loopbackRoundTripMicrosP50\":");
        assertThat(Double.parseDouble(Json.field(r.out(), "p50OverFloor"))).isPositive();
        assertThat(Double.parseDouble(Json.field(r.out(), "cpuMicrosPerCommand"))).isPositive();
    }

    @Test
    void failoverModeTimesTheFirstWriteAfterKillingTheLeader() {
        KvMainRun r = run("bench", "--mode", "failover", "--kills", "1", "--node-java-options", "-Xmx256m -XX:+UseSerialGC",
                "--dir", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"killToFirstWriteMicros\":{\"p50\":", "\"electionTimeoutMillis\":",
                "\"restartCatchUpMillis\":");
        assertThat(r.err()).contains("failover  1/1: killed n");
    }
}
