package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.runtime.Await;
import org.raftkit.transport.netty.TlsConfig;

/**
 * The membership contract of the KV example (docs/OPERATIONS.md, "Membership"), as an operator
 * runs it: KV nodes in this JVM on real sockets (Raft and HTTP on 127.0.0.1), changed only through
 * the HTTP API and the CLI.
 */
class KvMembershipTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    private final Map<String, KvNode> nodes = new LinkedHashMap<>();
    private final Map<String, InetSocketAddress> raft = new LinkedHashMap<>();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @AfterEach
    void stop() {
        nodes.values().forEach(KvNode::close);
    }

    @Test
    void aJoiningNodeIsAddedAsALearnerCatchesUpIsPromotedReplacesAVoterAndTakesTheLead() throws Exception {
        for (String id : List.of("n1", "n2", "n3", "n4")) {
            raft.put(id, freePort());
        }
        Map<String, InetSocketAddress> initial = new LinkedHashMap<>(raft);
        initial.remove("n4");
        for (String id : List.of("n1", "n2", "n3")) {
            start(id, initial, false);
        }
        String leader = awaitLeader();
        assertThat(send(leader, "PUT", "/v1/kv/before", "1").statusCode()).isEqualTo(200);

        // n4 starts empty and waits; --peers names the current members and itself.
        start("n4", raft, true);
        assertThat(nodes.get("n4").server().configuration().members()).isEmpty();
        String follower = otherThan(leader, "n4");
        HttpResponse<String> list = send(follower, "GET", "/v1/members", null);
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(list.body()).contains("{\"id\":\"n1\",\"raft\":\"" + address("n1") + "\",\"kind\":\"voter\"}")
                .doesNotContain("n4");

        // On a follower: 503 naming the leader, and nothing changes.
        String addN4 = "{\"id\":\"n4\",\"raft\":\"" + address("n4") + "\",\"learner\":true}";
        HttpResponse<String> atFollower = send(follower, "POST", "/v1/members", addN4);
        assertThat(atFollower.statusCode()).isEqualTo(503);
        assertThat(atFollower.body()).contains("\"error\":\"not_leader\"").contains("\"leader\":\"" + leader + "\"");

        HttpResponse<String> added = send(leader, "POST", "/v1/members", addN4);
        assertThat(added.statusCode()).as(added.body()).isEqualTo(200);
        assertThat(added.body()).contains("{\"id\":\"n4\",\"raft\":\"" + address("n4") + "\",\"kind\":\"learner\"}");
        assertThat(send(leader, "GET", "/v1/status", null).body()).contains("\"n4\":\"learner\"");

        // The learner catches up: it has the write made before it was added.
        Await.await(WAIT, () -> send("n4", "GET", "/v1/kv/before?consistency=stale", null).body().equals("1"),
                () -> "n4 to have the data");

        HttpResponse<String> promoted = retryWhile503(leader, "POST", "/v1/members/n4/promote", null);
        assertThat(promoted.statusCode()).as(promoted.body()).isEqualTo(200);
        assertThat(promoted.body()).contains("\"id\":\"n4\",\"raft\":\"" + address("n4") + "\",\"kind\":\"voter\"");

        HttpResponse<String> removed = retryWhile503(leader, "DELETE", "/v1/members/" + follower, null);
        assertThat(removed.statusCode()).as(removed.body()).isEqualTo(200);
        assertThat(removed.body()).doesNotContain("\"" + follower + "\"");
        nodes.remove(follower).close();

        HttpResponse<String> transferred = retryWhile503(leader, "POST", "/v1/leader", "{\"id\":\"n4\"}");
        assertThat(transferred.statusCode()).as(transferred.body()).isEqualTo(200);
        assertThat(transferred.body()).isEqualTo("{\"leader\":\"n4\"}");
        assertThat(send("n4", "GET", "/v1/status", null).body()).contains("\"role\":\"leader\"")
                .contains("\"memberKinds\":{").contains("\"n4\":\"voter\"");
        assertThat(send("n4", "PUT", "/v1/kv/after", "2").statusCode()).isEqualTo(200);
        assertThat(send("n4", "GET", "/v1/kv/before", null).body()).isEqualTo("1");
    }

    @Test
    void badMembershipRequestsAreRefusedWithAClearErrorAndTheConfigurationUnchanged() throws Exception {
        raft.put("n1", freePort());
        start("n1", raft, false);
        awaitLeader();
        assertThat(send("n1", "PUT", "/v1/kv/k", "v").statusCode()).isEqualTo(200); // a commit in its term
        String before = send("n1", "GET", "/v1/members", null).body();

        assertError(send("n1", "POST", "/v1/members", "{\"id\":\"n1\",\"raft\":\"127.0.0.1:7999\",\"learner\":true}"),
                409, "already_member");
        assertError(send("n1", "DELETE", "/v1/members/n1", null), 409, "last_voter");
        assertError(send("n1", "POST", "/v1/members/n1/promote", null), 409, "not_a_learner");
        assertError(send("n1", "DELETE", "/v1/members/n9", null), 404, "not_a_member");
        assertError(send("n1", "POST", "/v1/members", "{\"id\":\"n5\",\"raft\":\"no-port-here\",\"learner\":true}"),
                400, "bad_request");
        assertError(send("n1", "POST", "/v1/members", "{\"id\":\"n5\",\"raft\":\"127.0.0.1:99999\"}"), 400, "bad_request");
        assertError(send("n1", "POST", "/v1/members", "{\"id\":\"n5\",\"raft\":"), 400, "bad_request");
        assertError(send("n1", "POST", "/v1/members", "[\"n5\"]"), 400, "bad_request");
        assertError(send("n1", "POST", "/v1/members", "{\"raft\":\"127.0.0.1:7005\"}"), 400, "bad_request");
        assertError(send("n1", "POST", "/v1/members", "{\"id\":\"n 5\",\"raft\":\"127.0.0.1:7005\"}"), 400, "bad_request");
        assertError(send("n1", "POST", "/v1/leader", "{\"id\":\"n9\"}"), 409, "target_not_a_voter");
        assertError(send("n1", "PUT", "/v1/members", "{}"), 405, "method_not_allowed");

        assertThat(send("n1", "GET", "/v1/members", null).body()).isEqualTo(before);
    }

    @Test
    void addingWithoutLearnerAddsALearnerAndPromotesItOnceCaughtUp() throws Exception {
        raft.put("n1", freePort());
        raft.put("n2", freePort());
        start("n1", Map.of("n1", raft.get("n1")), false);
        awaitLeader();
        assertThat(send("n1", "PUT", "/v1/kv/k", "v").statusCode()).isEqualTo(200);
        start("n2", raft, true);

        HttpResponse<String> added = send("n1", "POST", "/v1/members",
                "{\"id\":\"n2\",\"raft\":\"" + address("n2") + "\"}");

        assertThat(added.statusCode()).as(added.body()).isEqualTo(200);
        assertThat(added.body()).contains("{\"id\":\"n2\",\"raft\":\"" + address("n2") + "\",\"kind\":\"voter\"}");
        Await.await(WAIT, () -> send("n2", "GET", "/v1/kv/k?consistency=stale", null).body().equals("v"),
                () -> "n2 to have the data");
    }

    @Test
    void memberListPrintsEachMemberWithItsKindAndAddress() throws Exception {
        raft.put("n1", freePort());
        start("n1", raft, false);
        awaitLeader();
        String endpoint = "http://" + hostPort(nodes.get("n1").httpAddress());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        int code = KvMain.run(new String[] {"member", "list", "--endpoints", endpoint},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));

        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("configuration index=")
                .containsPattern("n1 +voter +" + java.util.regex.Pattern.quote(address("n1")));
    }

    @Test
    void memberAddOfAnExistingIdFailsWithTheReason() throws Exception {
        raft.put("n1", freePort());
        start("n1", raft, false);
        awaitLeader();
        assertThat(send("n1", "PUT", "/v1/kv/k", "v").statusCode()).isEqualTo(200);
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        int code = KvMain.run(new String[] {"member", "add", "--id", "n1", "--raft", "127.0.0.1:7999", "--learner",
                        "--endpoints", "http://" + hostPort(nodes.get("n1").httpAddress())},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));

        assertThat(code).isEqualTo(1);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("409 already_member");
    }

    @Test
    void aVoterWhoseDataWasLostRefusesToComeBackAsThatVoterAndRejoinsThroughAMembershipChange() throws Exception {
        for (String id : List.of("n1", "n2", "n3")) {
            raft.put(id, freePort());
        }
        // Each starts with its peers' HTTP addresses, as serve --http-peers gives them: n2 and n3
        // start empty while peers run, and are let in (they never ran).
        for (String id : List.of("n1", "n2", "n3")) {
            start(id, raft, false, httpOfRunning());
        }
        String leader = awaitLeader();
        assertThat(send(leader, "PUT", "/v1/kv/before", "1").statusCode()).isEqualTo(200);
        String lost = otherThan(leader);
        Await.await(WAIT, () -> send(leader, "GET", "/v1/members/" + lost, null).body().matches(".*\"startedAt\":[0-9]+.*"),
                () -> lost + "'s start to be recorded");
        assertThat(send(lost, "GET", "/v1/members/" + lost, null).body())
                .startsWith("{\"id\":\"" + lost + "\",\"kind\":\"voter\",\"raft\":\"" + address(lost) + "\"");

        // Its whole data directory is lost: started with its member list, it must refuse.
        nodes.remove(lost).close();
        deleteRecursively(dir.resolve(lost));
        assertThatThrownBy(() -> start(lost, raft, false, httpOfRunning()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(lost + "'s data directory")
                .hasMessageContaining("already ran as a member")
                .hasMessageContaining("member remove --id " + lost);
        // Started to join while the configuration still has it as a voter: refused too.
        assertThatThrownBy(() -> start(lost, raft, true, httpOfRunning()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("still has " + lost + " as a voter");
        String other = otherThan(leader, lost);
        assertThat(send(other, "PUT", "/v1/kv/meanwhile", "2").statusCode()).as("the other two serve").isEqualTo(200);

        // The way back: removed, then started to join and added again; it catches up.
        assertThat(retryWhile503(leader, "DELETE", "/v1/members/" + lost, null).statusCode()).isEqualTo(200);
        deleteRecursively(dir.resolve(lost));
        start(lost, raft, true, httpOfRunning());
        HttpResponse<String> added = retryWhile503(leader, "POST", "/v1/members",
                "{\"id\":\"" + lost + "\",\"raft\":\"" + address(lost) + "\"}");
        assertThat(added.statusCode()).as(added.body()).isEqualTo(200);
        Await.await(WAIT, () -> send(lost, "GET", "/v1/kv/meanwhile?consistency=stale", null).body().equals("2"),
                () -> lost + " to catch up");
    }

    @Test
    void aNodeThatKeptItsIdentityButLostItsRaftDataRefusesAtOnce() throws Exception {
        raft.put("n1", freePort());
        start("n1", raft, false);
        awaitLeader();
        assertThat(send("n1", "PUT", "/v1/kv/k", "v").statusCode()).isEqualTo(200);
        nodes.remove("n1").close();
        try (var files = java.nio.file.Files.list(dir.resolve("n1"))) {
            for (Path p : files.toList()) {
                if (!p.getFileName().toString().equals(org.raftkit.storage.FileIdentityStore.FILE_NAME)) {
                    deleteRecursively(p);
                }
            }
        }

        assertThatThrownBy(() -> start("n1", raft, false))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("records that it is node n1 of cluster " + KvNode.DEFAULT_CLUSTER_ID)
                .hasMessageContaining("its Raft data was lost");
    }

    /**
     * A leader stopped gracefully (SIGTERM runs {@code KvNode.close()}) hands leadership over while
     * its API still serves, then answers every request it has read, each answer closing its
     * connection: clients writing through it see no failed write, only a refused connection when
     * they come back, and move to the next node. Before, the API closed first and every client
     * lost a write in flight.
     */
    @Test
    void aLeaderStoppedGracefullyFailsNoWriteOfItsClients() throws Exception {
        for (String id : List.of("n1", "n2", "n3")) {
            raft.put(id, freePort());
        }
        for (String id : List.of("n1", "n2", "n3")) {
            start(id, raft, false);
        }
        String leader = awaitLeader();
        List<InetSocketAddress> endpoints = new ArrayList<>();
        endpoints.add(nodes.get(leader).httpAddress());
        nodes.forEach((id, node) -> {
            if (!id.equals(leader)) {
                endpoints.add(node.httpAddress());
            }
        });
        WriteClients load = new WriteClients(8, endpoints, 0, false);
        load.start();
        try {
            Await.await(WAIT, () -> java.util.stream.IntStream.range(0, 8).allMatch(c -> load.lastAcknowledged(c) > 10),
                    () -> "every client to have written through " + leader);

            nodes.remove(leader).close();
            long[] after = new long[8];
            for (int c = 0; c < 8; c++) {
                after[c] = load.lastAcknowledged(c);
            }
            Await.await(WAIT, () -> java.util.stream.IntStream.range(0, 8).allMatch(c -> load.lastAcknowledged(c) > after[c] + 10),
                    () -> "every client to write on through another node: " + load.errors());
        } finally {
            load.stop();
        }
        Map<String, Long> failed = new LinkedHashMap<>(load.errors());
        failed.remove(WriteClients.CONNECT_REFUSED);
        assertThat(failed).as("failed writes (a refused connection sent nothing)").isEmpty();
    }

    // ---- helpers -------------------------------------------------------------------------------

    /** The HTTP addresses of the running nodes, as {@code --http-peers} gives them. */
    private Map<String, InetSocketAddress> httpOfRunning() {
        Map<String, InetSocketAddress> http = new LinkedHashMap<>();
        nodes.forEach((id, node) -> http.put(id, node.httpAddress()));
        return http;
    }

    private static void deleteRecursively(Path path) throws IOException {
        if (!java.nio.file.Files.exists(path)) {
            return;
        }
        try (var walk = java.nio.file.Files.walk(path)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.delete(p);
            }
        }
    }

    private void start(String id, Map<String, InetSocketAddress> peers, boolean join) {
        start(id, peers, join, Map.of());
    }

    private void start(String id, Map<String, InetSocketAddress> peers, boolean join,
                       Map<String, InetSocketAddress> httpPeers) {
        KvNode.Settings settings = new KvNode.Settings(id, raft.get(id), new InetSocketAddress("127.0.0.1", 0), peers,
                dir.resolve(id), false, KvNode.DEFAULT_MAX_VALUE_BYTES, KvNode.DEFAULT_CLUSTER_ID,
                TlsConfig.plaintext(), HttpTls.sameAs(TlsConfig.plaintext()), join);
        nodes.put(id, KvNode.start(settings, InProcessKvCluster.FAST, httpPeers, KvNode.loggingListener()));
    }

    private String awaitLeader() {
        AtomicReference<String> leader = new AtomicReference<>();
        Await.await(WAIT, () -> {
            for (Map.Entry<String, KvNode> e : nodes.entrySet()) {
                if (e.getValue().server().status().isLeader()) {
                    leader.set(e.getKey());
                    return true;
                }
            }
            return false;
        }, () -> "a leader");
        return leader.get();
    }

    private String otherThan(String... ids) {
        List<String> others = new ArrayList<>(nodes.keySet());
        others.removeAll(List.of(ids));
        return others.get(0);
    }

    private String address(String id) {
        return hostPort(raft.get(id));
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    private HttpResponse<String> send(String id, String method, String path, String body) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + hostPort(nodes.get(id).httpAddress()) + path))
                .timeout(WAIT)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body))
                .build();
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Sends until the answer is not 503 (another change still committing, the learner catching up). */
    private HttpResponse<String> retryWhile503(String id, String method, String path, String body) {
        AtomicReference<HttpResponse<String>> last = new AtomicReference<>();
        Await.await(WAIT, () -> {
            last.set(send(id, method, path, body));
            return last.get().statusCode() != 503;
        }, () -> method + " " + path + " to be served: " + last.get().body());
        return last.get();
    }

    private static void assertError(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.body()).startsWith("{\"error\":\"" + code + "\",\"message\":\"");
    }

    private static InetSocketAddress freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return new InetSocketAddress("127.0.0.1", s.getLocalPort());
        }
    }
}
