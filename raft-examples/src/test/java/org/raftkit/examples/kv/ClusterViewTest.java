package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.raftkit.RaftConfig;
import org.raftkit.RaftServer;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.memory.MemoryNetwork;
import org.raftkit.memory.MemoryTermVoteStore;
import org.raftkit.runtime.Await;

/**
 * {@code GET /metrics}, {@code GET /v1/cluster} and the page at {@code /} on three in-process nodes
 * (the page in a real browser against real processes is {@link ClusterViewBrowserTest}).
 */
class ClusterViewTest {

    private static final Duration DEADLINE = Duration.ofSeconds(20);

    private static MemoryNetwork network;
    private static final List<RaftServer> servers = new ArrayList<>();
    private static final List<KvHttpServer> https = new ArrayList<>();
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void startCluster() throws IOException {
        network = new MemoryNetwork(MemoryNetwork.Delivery.THREADED);
        List<String> ids = List.of("n1", "n2", "n3");
        Map<String, InetSocketAddress> httpPeers = new HashMap<>();
        for (String id : ids) {
            try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                httpPeers.put(id, new InetSocketAddress("127.0.0.1", s.getLocalPort()));
            }
        }
        httpPeers.put("n3", new InetSocketAddress("127.0.0.1", 1)); // n3's HTTP never answers: shown as down
        for (String id : ids) {
            PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            RaftServer server = RaftServer.builder().id(id).peers(ids).stateMachine(new KvStateMachine())
                    .logStorage(new MemoryLogStorage()).termVoteStore(new MemoryTermVoteStore())
                    .transport(network.transport(id)).metrics(new MicrometerMetrics(registry))
                    .config(RaftConfig.defaults().withTickMillis(5).withHeartbeatIntervalMillis(20)
                            .withElectionTimeoutMillis(100, 200)).build();
            server.start();
            servers.add(server);
            if (!id.equals("n3")) {
                https.add(KvHttpServer.start(server, httpPeers.get(id), 1024,
                        new ClusterView(server, httpPeers, registry::scrape)));
            }
        }
        Await.await(DEADLINE, () -> servers.stream().anyMatch(s -> s.status().isLeader()), () -> "a leader");
    }

    @AfterAll
    static void stopCluster() {
        https.forEach(KvHttpServer::close);
        servers.forEach(RaftServer::close);
        network.close();
    }

    private static HttpResponse<String> get(int node, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + https.get(node).address().getPort()
                + path)).timeout(DEADLINE).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void metricsArePrometheusTextPrefixedRaftkit() throws Exception {
        HttpResponse<String> put = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + https.get(0).address().getPort() + "/v1/kv/m")).PUT(HttpRequest.BodyPublishers.ofString("v"))
                .timeout(DEADLINE).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(put.statusCode()).isEqualTo(200);
        HttpResponse<String> r = get(0, "/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
        assertThat(r.body()).contains("raftkit_commits_total{node=\"n1\"}", "raftkit_applies_total",
                "raftkit_fsync_latency_seconds_bucket", "raftkit_apply_latency_seconds_count",
                "raftkit_storage_batch_entries_bucket", "raftkit_term{node=\"n1\"}",
                "raftkit_follower_lag_entries{node=\"n1\",peer=\"n2\"}", "raftkit_busy_rejections_total");
        for (String line : r.body().split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) {
                assertThat(line).startsWith("raftkit_");
            }
        }
    }

    @Test
    void theClusterJsonHasEveryMemberAndMarksOneThatDoesNotAnswer() throws Exception {
        String json = get(1, "/v1/cluster").body();
        assertThat(json).startsWith("{\"self\":\"n2\",\"members\":[{\"id\":\"n1\"");
        assertThat(json).contains("\"id\":\"n2\"", "\"up\":true,\"status\":{\"id\":\"n1\"");
        assertThat(json).containsPattern("\"id\":\"n3\",\"http\":\"127.0.0.1:1\",\"up\":false,\"error\":\"[^\"]+\"");
    }

    @Test
    void thePageIsSelfContained() throws Exception {
        HttpResponse<String> r = get(0, "/");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
        assertThat(r.body()).contains("<title>RaftKit cluster</title>", "fetch(\"/v1/cluster\"")
                .doesNotContain("http://", "https://", "<script src", "<link");
    }
}
