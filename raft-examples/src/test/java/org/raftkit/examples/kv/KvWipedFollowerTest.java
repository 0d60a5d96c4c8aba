package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.runtime.Await;

/**
 * An operator's mistake from issue 9: a follower restarted with an emptied data directory. It
 * must catch up within 15 s (before the fix the leader and it exchanged messages forever while it
 * stayed at index 0), and the other two must keep serving meanwhile.
 */
class KvWipedFollowerTest {

    @TempDir
    Path dir;

    @Test
    void aFollowerRestartedWithAnEmptiedDataDirectoryCatchesUpWithin15Seconds() {
        try (LocalCluster cluster = new LocalCluster(dir, 3).startAll()) {
            String leader = cluster.awaitLeader(cluster.ids());
            for (int i = 0; i < 50; i++) {
                assertThat(cluster.put(leader, "k" + i, "v" + i).statusCode()).isEqualTo(200);
            }
            String follower = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
            cluster.kill(follower);
            deleteContents(dir.resolve(follower));

            cluster.start(follower);
            Await.await(Duration.ofSeconds(15), () -> {
                HttpResponse<String> r = cluster.getOrNull(follower, "k49?consistency=stale");
                return r != null && r.statusCode() == 200 && r.body().equals("v49");
            }, () -> follower + " to catch up after its data directory was emptied:\n" + cluster.logTail(follower));

            String other = cluster.ids().stream().filter(id -> !id.equals(leader) && !id.equals(follower))
                    .findFirst().orElseThrow();
            assertThat(cluster.put(other, "after", "still serving").statusCode()).isEqualTo(200);
            assertThat(cluster.get(follower, "k0?consistency=stale").body()).isEqualTo("v0");
        }
    }

    private static void deleteContents(Path nodeDir) {
        try (Stream<Path> files = Files.walk(nodeDir)) {
            List<Path> all = files.sorted(Comparator.reverseOrder()).toList();
            for (Path p : all) {
                if (!p.equals(nodeDir)) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
