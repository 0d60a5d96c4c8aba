package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.runtime.Await;

/**
 * An operator's mistake from issue 9: a follower restarted with an emptied data directory. Before
 * the fix of issue 9 the leader and it exchanged messages forever while it stayed at index 0. Since
 * issue 11 it must not come back as the voter it was at all (it forgot its votes and what it
 * acknowledged): it refuses to start with an error that says why, the other two keep serving, and
 * brought back the way the error says (removed, started to join, added) it catches up within 15 s.
 */
class KvWipedFollowerTest {

    @TempDir
    Path dir;

    @Test
    void aFollowerRestartedWithAnEmptiedDataDirectoryRefusesThenRejoinsAndCatchesUpWithin15Seconds() {
        try (LocalCluster cluster = new LocalCluster(dir, 3).startAll()) {
            String leader = cluster.awaitLeader(cluster.ids());
            for (int i = 0; i < 50; i++) {
                assertThat(cluster.put(leader, "k" + i, "v" + i).statusCode()).isEqualTo(200);
            }
            String follower = cluster.ids().stream().filter(id -> !id.equals(leader)).findFirst().orElseThrow();
            Await.await(Duration.ofSeconds(15), () -> memberInfo(cluster, leader, follower).matches(".*\"startedAt\":[0-9]+.*"),
                    () -> follower + "'s start to be recorded");
            cluster.kill(follower);
            deleteContents(dir.resolve(follower));

            cluster.start(follower);
            assertThat(cluster.awaitExit(follower)).as("exit code of a node whose data was lost").isEqualTo(1);
            assertThat(cluster.logTail(follower)).contains("error: " + follower + "'s data directory")
                    .contains("already ran as a member").contains("member remove --id " + follower);
            String other = cluster.ids().stream().filter(id -> !id.equals(leader) && !id.equals(follower))
                    .findFirst().orElseThrow();
            assertThat(cluster.put(other, "after", "still serving").statusCode()).isEqualTo(200);

            // The way back the error names: remove it, start it to join, add it again.
            HttpResponse<String> removed = retryWhile503(cluster, leader, "DELETE", "/v1/members/" + follower, null);
            assertThat(removed.statusCode()).as(removed.body()).isEqualTo(200);
            deleteContents(dir.resolve(follower));
            cluster.start(follower, "--join");
            HttpResponse<String> added = retryWhile503(cluster, leader, "POST", "/v1/members",
                    "{\"id\":\"" + follower + "\",\"raft\":\"" + cluster.raftAddress(follower) + "\"}");
            assertThat(added.statusCode()).as(added.body()).isEqualTo(200);
            Await.await(Duration.ofSeconds(15), () -> {
                HttpResponse<String> r = cluster.getOrNull(follower, "k49?consistency=stale");
                return r != null && r.statusCode() == 200 && r.body().equals("v49");
            }, () -> follower + " to catch up after it rejoined:\n" + cluster.logTail(follower));
            assertThat(cluster.get(follower, "k0?consistency=stale").body()).isEqualTo("v0");
            assertThat(cluster.get(follower, "after?consistency=stale").body()).isEqualTo("still serving");
        }
    }

    private static String memberInfo(LocalCluster cluster, String at, String id) {
        return cluster.send(HttpRequest.newBuilder(cluster.endpoint(at).resolve("/v1/members/" + id)).GET()).body();
    }

    /** Sends to {@code at}, then to the leader each 503 names, until the answer is not 503. */
    private static HttpResponse<String> retryWhile503(LocalCluster cluster, String at, String method, String path,
                                                      String body) {
        AtomicReference<HttpResponse<String>> last = new AtomicReference<>();
        AtomicReference<String> target = new AtomicReference<>(at);
        Await.await(LocalCluster.DEADLINE, () -> {
            last.set(cluster.send(HttpRequest.newBuilder(cluster.endpoint(target.get()).resolve(path)).method(method,
                    body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))));
            String leader = Json.field(last.get().body(), "leader");
            if (leader != null && cluster.ids().contains(leader)) {
                target.set(leader);
            }
            return last.get().statusCode() != 503;
        }, () -> method + " " + path + " to be served: " + last.get().body());
        return last.get();
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
