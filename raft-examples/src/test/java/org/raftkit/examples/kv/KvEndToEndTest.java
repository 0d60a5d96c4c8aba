package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.runtime.Await;

/**
 * The KV store as an operator meets it: three real processes on loopback with their own disks,
 * killed with {@code kill -9} and restarted. Reads like a runbook.
 */
class KvEndToEndTest {

    @TempDir
    Path dir;

    @Test
    void killTheLeaderAndTheClusterCarriesOn() {
        try (LocalCluster cluster = new LocalCluster(dir, 3).startAll()) {
            String leader = cluster.awaitLeader(cluster.ids());

            // put and get through every node
            for (String id : cluster.ids()) {
                assertThat(cluster.put(id, "via-" + id, "value-" + id).statusCode()).isEqualTo(200);
            }
            for (String reader : cluster.ids()) {
                for (String writer : cluster.ids()) {
                    HttpResponse<String> r = cluster.get(reader, "via-" + writer);
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(r.body()).isEqualTo("value-" + writer);
                }
            }

            // conditional writes, 404, 413 and 400 over the real stack
            HttpResponse<String> created = cluster.put("n1", "cas", "one", "If-None-Match", "*");
            assertThat(created.statusCode()).isEqualTo(200);
            String revision = created.headers().firstValue("etag").orElseThrow();
            assertThat(cluster.put("n2", "cas", "again", "If-None-Match", "*").statusCode()).isEqualTo(412);
            assertThat(cluster.put("n3", "cas", "two", "If-Match", "\"1\"").statusCode()).isEqualTo(412);
            assertThat(cluster.put("n3", "cas", "two", "If-Match", revision).statusCode()).isEqualTo(200);
            assertThat(cluster.get("n1", "missing").statusCode()).isEqualTo(404);
            HttpResponse<String> tooBig = cluster.put("n2", "big", "x".repeat(KvNode.DEFAULT_MAX_VALUE_BYTES + 1));
            assertThat(tooBig.statusCode()).isEqualTo(413);
            assertThat(cluster.put("n2", "big", "x".repeat(KvNode.DEFAULT_MAX_VALUE_BYTES)).statusCode()).isEqualTo(200);
            assertThat(cluster.put("n1", "bad", "v", "If-Match", "yesterday").statusCode()).isEqualTo(400);

            // kill -9 the leader: the survivors elect a new one and take writes
            cluster.kill(leader);
            List<String> survivors = cluster.ids().stream().filter(id -> !id.equals(leader)).toList();
            String newLeader = cluster.awaitLeader(survivors);
            assertThat(newLeader).isNotEqualTo(leader);
            HttpResponse<String> afterCrash = cluster.put(survivors.get(0), "after-crash", "still here");
            assertThat(afterCrash.statusCode()).as(afterCrash.body()).isEqualTo(200);

            // the killed node restarts on its data and serves everything, old and new
            cluster.start(leader);
            Await.await(LocalCluster.DEADLINE, () -> {
                HttpResponse<String> r = cluster.getOrNull(leader, "after-crash?consistency=stale");
                return r != null && r.statusCode() == 200 && r.body().equals("still here");
            }, () -> leader + " to catch up after its restart:\n" + cluster.logTail(leader));
            assertThat(cluster.get(leader, "cas").body()).isEqualTo("two");
            assertThat(cluster.get(leader, "via-n1").body()).isEqualTo("value-n1");
        }
    }

    @Test
    void aMinorityNeverAcknowledgesAWrite() {
        try (LocalCluster cluster = new LocalCluster(dir, 3).startAll()) {
            String leader = cluster.awaitLeader(cluster.ids());
            // On a loaded machine leadership may still move right after the first election (503).
            cluster.putUntilAcknowledged(leader, "before", "1");

            // Leave only one node: first kill the two followers, so the survivor was the leader.
            List<String> followers = cluster.ids().stream().filter(id -> !id.equals(leader)).toList();
            followers.forEach(cluster::kill);
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> r = cluster.put(leader, "lonely-" + i, "never acknowledged");
                assertThat(r.statusCode()).as(r.body()).isIn(503, 504);
                assertThat(Json.field(r.body(), "error")).isIn("no_leader", "timeout", "busy", "unavailable");
                if (r.statusCode() == 503) {
                    assertThat(r.headers().firstValue("retry-after")).isPresent();
                }
            }

            // Bring the majority back: the cluster serves again and the acknowledged write is there.
            followers.forEach(cluster::start);
            cluster.awaitLeader(cluster.ids());
            Await.await(LocalCluster.DEADLINE, () -> {
                HttpResponse<String> r = cluster.putOrNull(followers.get(0), "after", "2");
                return r != null && r.statusCode() == 200;
            }, () -> "a write after the majority came back");
            // 503 means "nothing happened, retry": a rejoining node may still cause an election.
            AtomicReference<HttpResponse<String>> read = new AtomicReference<>();
            Await.await(LocalCluster.DEADLINE, () -> {
                read.set(cluster.getOrNull(followers.get(1), "before"));
                return read.get() != null && read.get().statusCode() != 503;
            }, () -> "a read that is not 503");
            assertThat(read.get().body()).isEqualTo("1");
        }
    }

    @Test
    void restartingEveryNodeKeepsEveryAcknowledgedWrite() {
        Map<String, String> acknowledged = new LinkedHashMap<>();
        try (LocalCluster cluster = new LocalCluster(dir, 3).startAll()) {
            cluster.awaitLeader(cluster.ids());
            for (int i = 0; i < 200; i++) {
                String node = cluster.ids().get(i % 3);
                String key = "key-" + (i % 50);
                String value = "value-" + i;
                if (cluster.put(node, key, value).statusCode() == 200) {
                    acknowledged.put(key, value);
                }
            }
            assertThat(acknowledged).hasSize(50);
            cluster.ids().forEach(cluster::kill);

            cluster.startAll();
            cluster.awaitLeader(cluster.ids());
            for (String id : cluster.ids()) {
                for (Map.Entry<String, String> e : acknowledged.entrySet()) {
                    HttpResponse<String> r = cluster.get(id, e.getKey());
                    assertThat(r.statusCode()).as("%s on %s", e.getKey(), id).isEqualTo(200);
                    assertThat(r.body()).as("%s on %s", e.getKey(), id).isEqualTo(e.getValue());
                }
            }
        }
    }

    @Test
    void theCliFollowsTheClusterPastADeadNode() {
        try (LocalCluster cluster = new LocalCluster(dir, 3).startAll()) {
            String leader = cluster.awaitLeader(cluster.ids());
            cluster.kill(leader);
            // Once the survivors have a new leader (a write forwarded to the dead one in the
            // meantime would time out with 504: its outcome is unknown), the CLI must get past
            // the dead node's endpoint, which comes first.
            cluster.awaitLeader(cluster.ids().stream().filter(id -> !id.equals(leader)).toList());
            // The dead leader's endpoint comes first: the client must move on to a live node.
            List<String> order = new ArrayList<>(List.of(leader));
            cluster.ids().stream().filter(id -> !id.equals(leader)).forEach(order::add);
            String endpoints = String.join(",", order.stream().map(id -> cluster.endpoint(id).toString()).toList());

            assertThat(cli("put", "greeting", "hello", "--endpoints", endpoints)).startsWith("0 OK revision=");
            assertThat(cli("get", "greeting", "--endpoints", endpoints)).isEqualTo("0 hello\n");
            assertThat(cli("put", "greeting", "again", "--if-none-match", "*", "--endpoints", endpoints))
                    .startsWith("1 ").contains("412");
            assertThat(cli("delete", "greeting", "--endpoints", endpoints)).isEqualTo("0 OK deleted greeting\n");
            assertThat(cli("get", "greeting", "--endpoints", endpoints)).startsWith("1 ").contains("404");
            assertThat(cli("status", "--endpoints", endpoints)).startsWith("0 ").contains("unreachable", "leader");
            assertThat(cli("get", "k", "--endpoints", "http://127.0.0.1:1", "--timeout", "1s"))
                    .startsWith("1 error: gave up");
        }
    }

    /** Runs the CLI in this JVM; returns its exit code, a space, then stdout (or stderr on failure). */
    private static String cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = KvMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return code + " " + (code == 0 ? out : err).toString(StandardCharsets.UTF_8);
    }
}
