package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.raftkit.RaftServer;
import org.raftkit.RaftStatus;
import org.raftkit.Role;
import org.raftkit.metrics.RaftMetrics;
import org.raftkit.runtime.Await;

/**
 * The HTTP API of docs/OPERATIONS.md against three in-process nodes on the in-memory network: every status
 * code and header a client relies on. (The same API over real processes, sockets and disks is
 * {@link KvEndToEndTest}.)
 */
class KvHttpApiTest {

    private static final int MAX_VALUE_BYTES = 4096;
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    private static InProcessKvCluster cluster;
    private static List<RaftServer> servers;
    private static List<KvHttpServer> https;
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void startCluster() {
        cluster = new InProcessKvCluster(List.of("n1", "n2", "n3"), InProcessKvCluster.FAST.withRequestTimeoutMillis(2_000),
                id -> RaftMetrics.NONE,
                (id, server) -> KvHttpServer.start(server, new InetSocketAddress("127.0.0.1", 0), MAX_VALUE_BYTES),
                DEADLINE);
        servers = cluster.servers;
        https = cluster.https;
    }

    @AfterAll
    static void stopCluster() {
        cluster.close();
    }

    private static URI uri(int node, String path) {
        InetSocketAddress a = https.get(node).address();
        return URI.create("http://127.0.0.1:" + a.getPort() + path);
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return client.send(request.timeout(DEADLINE).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static HttpResponse<String> put(int node, String key, String value, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(node, "/v1/kv/" + key))
                .PUT(HttpRequest.BodyPublishers.ofString(value));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return send(b);
    }

    private static HttpResponse<String> get(int node, String path) {
        return send(HttpRequest.newBuilder(uri(node, path)).GET());
    }

    private static HttpResponse<String> delete(int node, String key, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(node, "/v1/kv/" + key)).DELETE();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return send(b);
    }

    /** Sends {@code request} as raw bytes; returns the whole answer up to the server closing or 2 s of quiet. */
    private static String raw(int node, String request) {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", https.get(node).address().getPort())) {
            socket.setSoTimeout(2_000);
            socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
            byte[] buffer = new byte[4096];
            try {
                for (int n; (n = socket.getInputStream().read(buffer)) > 0; ) {
                    answer.write(buffer, 0, n);
                }
            } catch (java.net.SocketTimeoutException quiet) {
                // The server kept the connection open; what arrived is the answer.
            }
            return answer.toString(StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void assertError(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        assertThat(Json.field(r.body(), "error")).isEqualTo(code);
        assertThat(Json.field(r.body(), "message")).isNotBlank();
    }

    @Test
    void aWriteThroughAnyNodeIsReadThroughEveryNode() {
        for (int writer = 0; writer < 3; writer++) {
            String key = "greeting-" + writer;
            HttpResponse<String> put = put(writer, key, "hello from " + writer);
            assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
            String revision = Json.field(put.body(), "revision");
            assertThat(put.headers().firstValue("etag")).hasValue("\"" + revision + "\"");
            for (int reader = 0; reader < 3; reader++) {
                HttpResponse<String> got = get(reader, "/v1/kv/" + key);
                assertThat(got.statusCode()).isEqualTo(200);
                assertThat(got.body()).isEqualTo("hello from " + writer);
                assertThat(got.headers().firstValue("etag")).hasValue("\"" + revision + "\"");
            }
        }
    }

    @Test
    void staleReadsAnswerLocally() {
        assertThat(put(0, "stale-key", "v").statusCode()).isEqualTo(200);
        Await.await(DEADLINE, () -> get(2, "/v1/kv/stale-key?consistency=stale").statusCode() == 200,
                () -> "n3 to apply the write");
        assertThat(get(2, "/v1/kv/stale-key?consistency=stale").body()).isEqualTo("v");
        assertThat(get(2, "/v1/kv/stale-key?consistency=linearizable").body()).isEqualTo("v");
    }

    @Test
    void conditionalWritesCompareTheRevision() {
        HttpResponse<String> created = put(0, "cas", "v1", "If-None-Match", "*");
        assertThat(created.statusCode()).isEqualTo(200);
        String rev = Json.field(created.body(), "revision");

        HttpResponse<String> again = put(1, "cas", "v1b", "If-None-Match", "*");
        assertError(again, 412, "precondition_failed");
        assertThat(Json.field(again.body(), "revision")).isEqualTo(rev);

        assertError(put(1, "cas", "v2", "If-Match", "\"" + (Long.parseLong(rev) + 1000) + "\""), 412,
                "precondition_failed");
        HttpResponse<String> swapped = put(2, "cas", "v2", "If-Match", "\"" + rev + "\"");
        assertThat(swapped.statusCode()).isEqualTo(200);
        String rev2 = Json.field(swapped.body(), "revision");
        assertThat(Long.parseLong(rev2)).isGreaterThan(Long.parseLong(rev));
        assertThat(get(0, "/v1/kv/cas").body()).isEqualTo("v2");

        assertError(delete(0, "cas", "If-Match", "\"" + rev + "\""), 412, "precondition_failed");
        assertThat(delete(0, "cas", "If-Match", "\"" + rev2 + "\"").statusCode()).isEqualTo(204);
        assertError(put(0, "cas", "v3", "If-Match", "*"), 412, "precondition_failed");
    }

    @Test
    void aRepeatedWriteWithAnIdempotencyKeyGetsTheFirstAnswerAndAnotherBodyIs422() {
        HttpResponse<String> first = put(1, "idem", "one", "Idempotency-Key", "8e03978e-40d5-43e8-bc93-6894a57f9324");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        assertThat(put(2, "idem", "two").statusCode()).isEqualTo(200);

        HttpResponse<String> repeat = put(2, "idem", "one", "Idempotency-Key", "8e03978e-40d5-43e8-bc93-6894a57f9324");

        assertThat(repeat.statusCode()).isEqualTo(200);
        assertThat(Json.field(repeat.body(), "revision")).as("the first answer").isEqualTo(Json.field(first.body(), "revision"));
        assertThat(get(1, "/v1/kv/idem").body()).as("not applied again").isEqualTo("two");
        assertError(put(1, "idem", "three", "Idempotency-Key", "8e03978e-40d5-43e8-bc93-6894a57f9324"),
                422, "idempotency_key_reused");
        assertThat(get(2, "/v1/kv/idem").body()).isEqualTo("two");

        assertThat(delete(2, "idem", "Idempotency-Key", "del-1").statusCode()).isEqualTo(204);
        assertThat(delete(2, "idem", "Idempotency-Key", "del-1").statusCode()).as("the first answer again").isEqualTo(204);
        assertError(put(1, "idem", "x", "Idempotency-Key", "k".repeat(300)), 400, "bad_request");
    }

    @Test
    void leaseReadsSeeTheLatestWriteOnEveryNode() {
        for (int node = 0; node < 3; node++) {
            String value = "v" + node;
            assertThat(put(node, "lease-key", value).statusCode()).isEqualTo(200);
            for (int reader = 0; reader < 3; reader++) {
                HttpResponse<String> r = get(reader, "/v1/kv/lease-key?consistency=lease");
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(r.body()).as("a lease read on n%d after the write through n%d", reader + 1, node + 1).isEqualTo(value);
            }
        }
        assertError(get(0, "/v1/kv/lease-key?consistency=lease&max-lag=3"), 400, "bad_request");
    }

    @Test
    void aBoundedStaleReadAnswersOnAnUpToDateNodeAndRefusesBadBounds() {
        assertThat(put(0, "lag", "v").statusCode()).isEqualTo(200);
        HttpResponse<String> read = get(1, "/v1/kv/lag?consistency=stale&max-lag=1000000");
        assertThat(read.statusCode()).as(read.body()).isIn(200, 404); // 404 only if n1 has not applied it yet
        assertError(get(1, "/v1/kv/lag?consistency=stale&max-lag=-1"), 400, "bad_request");
        assertError(get(1, "/v1/kv/lag?max-lag=3"), 400, "bad_request");
    }

    @Test
    void absentKeysAre404() {
        assertError(get(1, "/v1/kv/never-written"), 404, "not_found");
        assertError(delete(1, "never-written"), 404, "not_found");
        assertThat(put(1, "gone", "x").statusCode()).isEqualTo(200);
        assertThat(delete(2, "gone").statusCode()).isEqualTo(204);
        assertError(get(0, "/v1/kv/gone"), 404, "not_found");
    }

    @Test
    void aValueOverTheLimitIs413AndAValueAtTheLimitIsStored() {
        String atLimit = "a".repeat(MAX_VALUE_BYTES);
        assertThat(put(0, "big", atLimit).statusCode()).isEqualTo(200);
        long lastBefore = servers.get(0).status().lastLogIndex();
        long termBefore = servers.get(0).status().term();
        HttpResponse<String> tooBig = put(1, "big", atLimit + "b");
        assertError(tooBig, 413, "value_too_large");
        assertThat(get(0, "/v1/kv/big").body()).isEqualTo(atLimit);
        // Nothing reached the log: no entry beyond what n1 held before, unless an election in
        // between appended a new leader's no-op.
        if (servers.get(0).status().term() == termBefore) {
            assertThat(servers.get(0).status().lastLogIndex()).isEqualTo(lastBefore);
        }
        // The node still serves requests afterwards.
        assertThat(put(1, "small", "s").statusCode()).isEqualTo(200);
    }

    @Test
    void malformedRequestsAre400() {
        assertError(put(0, "k", "v", "If-Match", "\"not-a-number\""), 400, "bad_request");
        assertError(put(0, "k", "v", "If-None-Match", "\"3\""), 400, "bad_request");
        assertError(put(0, "k", "v", "If-Match", "\"1\"", "If-None-Match", "*"), 400, "bad_request");
        assertError(get(0, "/v1/kv/k?consistency=eventual"), 400, "bad_request");
        assertError(get(0, "/v1/kv/"), 400, "bad_request");
        assertThat(raw(0, "GET /v1/kv/%zz HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 400");
        assertThat(raw(0, "THIS IS NOT HTTP\r\n\r\n")).startsWith("HTTP/1.1 400");
        assertThat(raw(0, "PUT /v1/kv/k HTTP/1.1\r\nContent-Length: banana\r\n\r\n")).startsWith("HTTP/1.1 400");
        assertError(get(0, "/v1/kv/" + "k".repeat(KvHttpHandler.MAX_KEY_BYTES + 1)), 400, "bad_request");
        assertError(get(0, "/v2/things"), 404, "no_route");
        HttpResponse<String> post = send(HttpRequest.newBuilder(uri(0, "/v1/kv/k"))
                .POST(HttpRequest.BodyPublishers.ofString("v")));
        assertError(post, 405, "method_not_allowed");
        assertThat(post.headers().firstValue("allow")).hasValue("GET, HEAD, PUT, DELETE");
    }

    @Test
    void keysArePercentDecoded() {
        assertThat(put(0, "a%20key%2Fwith%2Fslashes", "spaced").statusCode()).isEqualTo(200);
        assertThat(get(1, "/v1/kv/a%20key%2Fwith%2Fslashes").body()).isEqualTo("spaced");
    }

    @Test
    void statusNamesTheNodeItsRoleAndTheLeader() {
        for (int node = 0; node < 3; node++) {
            HttpResponse<String> r = get(node, "/v1/status");
            assertThat(r.statusCode()).isEqualTo(200);
            String json = r.body();
            assertThat(Json.field(json, "id")).isEqualTo("n" + (node + 1));
            assertThat(Json.field(json, "role")).isIn("leader", "follower", "candidate", "pre_candidate");
            assertThat(json).contains("\"term\":", "\"leader\":", "\"commitIndex\":", "\"appliedIndex\":",
                    "\"lastLogIndex\":", "\"members\":[\"n1\",\"n2\",\"n3\"]");
        }
    }

    @Test
    void anAdminSnapshotAnswersItsIndexAndStatusShowsIt() {
        assertThat(put(1, "before-snapshot", "v").statusCode()).isEqualTo(200);
        Await.await(DEADLINE, () -> servers.get(1).status().appliedIndex() >= servers.get(1).status().commitIndex()
                && servers.get(1).status().appliedIndex() > 0, () -> "n2 to apply what it knows committed");
        long applied = servers.get(1).status().appliedIndex();

        HttpResponse<String> r = send(HttpRequest.newBuilder(uri(1, "/v1/admin/snapshot"))
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
        assertThat(Json.field(r.body(), "id")).isEqualTo("n2");
        long index = Long.parseLong(Json.field(r.body(), "snapshotIndex"));
        assertThat(index).isGreaterThanOrEqualTo(applied);
        assertThat(Long.parseLong(Json.field(r.body(), "firstLogIndex"))).isPositive();

        String status = get(1, "/v1/status").body();
        assertThat(Long.parseLong(Json.field(status, "snapshotIndex"))).isGreaterThanOrEqualTo(index);
        assertThat(Long.parseLong(Json.field(status, "firstLogIndex"))).isPositive();
        assertThat(Json.field(status, "snapshotReceivedBytes")).as("only while one is received").isNull();

        HttpResponse<String> wrongMethod = get(1, "/v1/admin/snapshot");
        assertError(wrongMethod, 405, "method_not_allowed");
        assertThat(wrongMethod.headers().firstValue("allow")).hasValue("POST");
    }

    @Test
    void statusShowsSnapshotFieldsAndTheTransferInProgress() {
        RaftStatus receiving = new RaftStatus("n3", Role.FOLLOWER, 4, "n1", 90, 80, 95, List.of("n1", "n2", "n3"),
                RaftStatus.State.RUNNING, null, 50, 41, 123_456);
        String json = KvHttpHandler.statusJson(receiving);
        assertThat(Json.field(json, "snapshotIndex")).isEqualTo("50");
        assertThat(Json.field(json, "firstLogIndex")).isEqualTo("41");
        assertThat(Json.field(json, "snapshotReceivedBytes")).isEqualTo("123456");
        String idle = KvHttpHandler.statusJson(new RaftStatus("n3", Role.FOLLOWER, 4, "n1", 90, 80, 95,
                List.of("n1", "n2", "n3"), RaftStatus.State.RUNNING, null, 50, 41, 0));
        assertThat(Json.field(idle, "snapshotReceivedBytes")).isNull();
    }

    @Test
    void anAdminSnapshotOnANodeWithoutSnapshotsIsAClearJsonError() {
        try (InProcessKvCluster lone = new InProcessKvCluster(List.of("solo"), InProcessKvCluster.FAST,
                id -> RaftMetrics.NONE,
                (id, server) -> KvHttpServer.start(server, new InetSocketAddress("127.0.0.1", 0), MAX_VALUE_BYTES),
                DEADLINE, false)) {
            URI snapshot = URI.create("http://127.0.0.1:" + lone.https.get(0).address().getPort() + "/v1/admin/snapshot");
            HttpResponse<String> r = send(HttpRequest.newBuilder(snapshot).POST(HttpRequest.BodyPublishers.noBody()));
            assertError(r, 500, "snapshot_failed");
            assertThat(Json.field(r.body(), "message")).contains("takes no snapshots");
        }
    }

    /**
     * Fuzzing's finding (issue 15): the 413 for an oversized body was written the moment the body
     * passed the limit, ahead of the answers still owed to earlier pipelined requests (a
     * linearizable read waits for Raft), so the client paired answers with the wrong requests.
     */
    @Test
    void a413ForAnOversizedPipelinedBodyComesAfterTheAnswersOwedBeforeIt() throws IOException {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", https.get(1).address().getPort())) {
            socket.setSoTimeout(20_000);
            String requests = "GET /v1/kv/never-there HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "PUT /v1/kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: " + (MAX_VALUE_BYTES + 1000) + "\r\n\r\n"
                    + "x".repeat(MAX_VALUE_BYTES + 1000);
            socket.getOutputStream().write(requests.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            String answers = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int notFound = answers.indexOf("HTTP/1.1 404");
            int tooLarge = answers.indexOf("HTTP/1.1 413");
            assertThat(notFound).as(answers).isGreaterThanOrEqualTo(0);
            assertThat(tooLarge).as(answers).isGreaterThan(notFound);
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws IOException {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", https.get(1).address().getPort())) {
            socket.setSoTimeout(20_000);
            StringBuilder requests = new StringBuilder();
            for (int i = 0; i < 20; i++) {
                requests.append("PUT /v1/kv/pipe-").append(i).append(" HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n")
                        .append(i % 10);
                requests.append("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
            }
            socket.getOutputStream().write(requests.toString().getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(
                    socket.getInputStream(), StandardCharsets.UTF_8));
            for (int i = 0; i < 40; i++) {
                String statusLine = in.readLine();
                assertThat(statusLine).startsWith("HTTP/1.1 200");
                int length = 0;
                String header;
                while (!(header = in.readLine()).isEmpty()) {
                    if (header.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                        length = Integer.parseInt(header.substring(15).trim());
                    }
                }
                char[] body = new char[length];
                int read = 0;
                while (read < length) {
                    read += in.read(body, read, length - read);
                }
                String text = new String(body);
                if (i % 2 == 0) {
                    assertThat(text).startsWith("{\"revision\":");
                } else {
                    assertThat(text).startsWith("{\"id\":\"n2\"");
                }
            }
        }
    }

    @Test
    void aPlusInAKeyIsAPlusNotASpace() {
        assertThat(put(0, "a+b", "plus").statusCode()).isEqualTo(200);
        assertThat(get(1, "/v1/kv/a%2Bb").body()).isEqualTo("plus");
        assertError(get(1, "/v1/kv/a%20b"), 404, "not_found");
    }

    @Test
    void aKeyThatIsNotUtf8Is400NotAReplacementCharacter() {
        assertError(get(0, "/v1/kv/%C3%28"), 400, "bad_request");
        assertError(put(0, "%FF", "v"), 400, "bad_request");
        assertThat(put(0, "%EF%BF%BD", "replacement").statusCode()).isEqualTo(200);
        assertThat(get(0, "/v1/kv/%EF%BF%BD").body()).isEqualTo("replacement");
    }

    @Test
    void anOversizedBodyAnnouncedUpFrontGetsTheJsonError() {
        int tooBig = MAX_VALUE_BYTES + 1;
        for (String expect : List.of("", "Expect: 100-continue\r\n")) {
            String answer = raw(0, "PUT /v1/kv/big HTTP/1.1\r\nHost: x\r\n" + expect + "Content-Length: " + tooBig
                    + "\r\n\r\n");
            assertThat(answer).as(expect).startsWith("HTTP/1.1 413").contains("application/json")
                    .contains("\"error\":\"value_too_large\"");
        }
    }

    @Test
    void headAnswersWhatGetWouldWithoutTheBody() {
        assertThat(put(0, "headed", "12345").statusCode()).isEqualTo(200);
        HttpResponse<String> head = send(HttpRequest.newBuilder(uri(1, "/v1/kv/headed"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()));
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValue("content-length")).hasValue("5");
        assertThat(head.headers().firstValue("etag")).isPresent();
        assertThat(head.body()).isEmpty();
        assertThat(send(HttpRequest.newBuilder(uri(1, "/v1/status")).method("HEAD",
                HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(200);
        assertThat(send(HttpRequest.newBuilder(uri(1, "/v1/kv/never")).method("HEAD",
                HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(404);
    }

    @Test
    void anHttpPortClashNamesTheAddress() throws IOException {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", taken.getLocalPort());
            org.assertj.core.api.Assertions.assertThatThrownBy(
                    () -> KvHttpServer.start(servers.get(0), address, MAX_VALUE_BYTES))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("cannot bind the HTTP address 127.0.0.1:" + taken.getLocalPort());
        }
    }
}
