package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.runtime.Await;

/**
 * Snapshots as an operator meets them: three real processes with small snapshot triggers, a
 * follower killed with {@code kill -9} while the leader compacts its log past it, then restarted.
 * It can only catch up by InstallSnapshot (Raft paper Figure 13), and must then serve every
 * acknowledged write. Reads like a runbook.
 */
class KvSnapshotEndToEndTest {

    /**
     * Snapshot every 50 entries, keeping 10 behind, in 4 KiB segments: a few hundred writes compact
     * the log several times, and compaction deletes whole segment files.
     */
    private static final List<String> SMALL_TRIGGERS = List.of("--snapshot-entries", "50", "--snapshot-trailing", "10",
            "--segment-bytes", "4KiB");
    private static final int KEYS = 300;

    @TempDir
    Path dir;

    @Test
    void aFollowerThatMissedCompactedEntriesCatchesUpByInstallSnapshot() {
        try (LocalCluster cluster = new LocalCluster(dir, 3, SMALL_TRIGGERS).startAll()) {
            String leader = cluster.awaitLeader(cluster.ids());
            String follower = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
            Map<String, String> acknowledged = new LinkedHashMap<>();
            writeUntilAcknowledged(cluster, leader, "early", "before the crash", acknowledged);
            Await.await(LocalCluster.DEADLINE, () -> cluster.statusNumber(follower, "appliedIndex")
                    >= cluster.statusNumber(leader, "commitIndex"), () -> follower + " to apply the first write");
            long followerLastIndex = cluster.statusNumber(follower, "lastLogIndex");

            // kill -9 a follower, then write until the leader has compacted its log past it
            cluster.kill(follower);
            for (int i = 0; i < KEYS; i++) {
                writeUntilAcknowledged(cluster, leader, "key-" + i, "value-" + i, acknowledged);
            }
            Await.await(LocalCluster.DEADLINE, () -> cluster.statusNumber(leader, "firstLogIndex") > followerLastIndex + 1,
                    () -> leader + " to compact its log past " + follower + "'s last index " + followerLastIndex
                            + " (status: " + cluster.statusOrNull(leader) + ")");
            long leaderCommit = cluster.statusNumber(leader, "commitIndex");
            assertThat(cluster.statusNumber(leader, "snapshotIndex")).isPositive();

            // restart the follower: the entries it needs are gone, so it gets the leader's snapshot
            cluster.start(follower);
            Await.await(LocalCluster.DEADLINE, () -> cluster.statusNumber(follower, "snapshotIndex") > followerLastIndex
                            && cluster.statusNumber(follower, "appliedIndex") >= leaderCommit,
                    () -> follower + " to install a snapshot and apply up to the leader's commit " + leaderCommit
                            + " (status: " + cluster.statusOrNull(follower) + "):\n" + cluster.logTail(follower));
            assertThat(cluster.statusNumber(follower, "firstLogIndex")).as("the log after the installed snapshot")
                    .isGreaterThan(followerLastIndex + 1);
            assertServesEveryAcknowledgedKey(cluster, follower, acknowledged);
            assertThat(snapshotFiles(cluster.dataDir(follower))).as("the installed snapshot, on disk").isNotEmpty();

            // and a node restarted on its own data starts from its snapshot, its log compacted
            cluster.kill(leader);
            cluster.start(leader);
            Await.await(LocalCluster.DEADLINE, () -> cluster.statusOrNull(leader) != null,
                    () -> leader + " to answer after its restart:\n" + cluster.logTail(leader));
            assertThat(cluster.statusNumber(leader, "snapshotIndex")).as("loaded at start").isGreaterThan(followerLastIndex);
            assertThat(cluster.statusNumber(leader, "firstLogIndex")).as("compacted").isGreaterThan(followerLastIndex + 1);
            assertThat(snapshotFiles(cluster.dataDir(leader))).isNotEmpty();
            Await.await(LocalCluster.DEADLINE, () -> cluster.statusNumber(leader, "appliedIndex") >= leaderCommit,
                    () -> leader + " to apply everything after its restart:\n" + cluster.logTail(leader));
            assertServesEveryAcknowledgedKey(cluster, leader, acknowledged);
        }
    }

    /** A write that may be retried (same value), recorded once acknowledged. */
    private static void writeUntilAcknowledged(LocalCluster cluster, String node, String key, String value,
                                               Map<String, String> acknowledged) {
        cluster.putUntilAcknowledged(node, key, value);
        acknowledged.put(key, value);
    }

    /** Every acknowledged key, read from {@code node}'s own state (a stale read: no leader involved). */
    private static void assertServesEveryAcknowledgedKey(LocalCluster cluster, String node, Map<String, String> acknowledged) {
        for (Map.Entry<String, String> e : acknowledged.entrySet()) {
            HttpResponse<String> r = cluster.get(node, e.getKey() + "?consistency=stale");
            assertThat(r.statusCode()).as("%s on %s: %s", e.getKey(), node, r.body()).isEqualTo(200);
            assertThat(r.body()).as("%s on %s", e.getKey(), node).isEqualTo(e.getValue());
        }
    }

    private static List<Path> snapshotFiles(Path dataDir) {
        try (Stream<Path> files = Files.list(dataDir.resolve(KvNode.SNAPSHOT_DIR))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".snap")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
