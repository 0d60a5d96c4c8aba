package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench-snapshot}: its flags, one short run in one JVM and one with a process per node,
 * each going through every phase (the figures themselves are for docs/BENCHMARKS.md, not for tests).
 */
class KvSnapshotBenchTest {

    @TempDir
    Path dir;

    private static KvMainRun run(String... args) {
        return KvMainRun.of(args);
    }

    @Test
    void flagsForTheOtherShapeAreRefused() {
        assertThat(run("bench-snapshot", "--node-jar", "x.jar", "--dir", dir.toString()).err())
                .contains("--node-jar is for --processes");
        assertThat(run("bench-snapshot", "--processes", "--mode", "restart", "--dir", dir.toString()).err())
                .contains("--processes is for --mode snapshot");
        assertThat(run("bench-snapshot", "--processes", "--chunks-in-flight", "16", "--dir", dir.toString()).err())
                .contains("--chunks-in-flight is not for --processes");
    }

    @Test
    void aTrailingWindowThatCoversTheWholeLogIsReportedNotWaitedOnForever() {
        KvMainRun r = run("bench-snapshot", "--keys", "500", "--clients", "4", "--phase", "100ms", "--rounds", "1",
                "--dir", dir.toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("the leader's log still starts at index 1", "--snapshot-trailing (10000)");
    }

    @Test
    void inOneJvmEveryPhaseRunsAndEachLoadedPhaseIsComparedWithTheQuietOneBefore() {
        KvMainRun r = run("bench-snapshot", "--keys", "2000", "--clients", "8", "--phase", "200ms", "--rounds", "1",
                "--snapshot-trailing", "100", "--dir", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"during\":\"none\"", "\"during\":\"snapshots\"", "\"during\":\"install\"",
                "\"p99Ratios\":{\"snapshot\":{\"each\":[", "\"loopbackFloorMBPerSecond\":");
    }

    @Test
    void withAProcessPerNodeAKilledFollowerCatchesUpBySnapshotWhileTheLoadGoesOn() {
        KvMainRun r = run("bench-snapshot", "--processes", "--keys", "2000", "--clients", "8", "--phase", "300ms",
                "--rounds", "1", "--node-java-options", "-Xmx256m -XX:+UseSerialGC", "--dir", dir.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"processes\":true", "\"during\":\"none\"", "\"during\":\"snapshots\"",
                "\"during\":\"install\"", "\"installedBySnapshot\":true", "\"errors\":0", "\"p99Ratios\":{\"snapshot\":{\"each\":[");
        assertThat(r.out()).doesNotContain("\"writes\":0,");
    }
}
