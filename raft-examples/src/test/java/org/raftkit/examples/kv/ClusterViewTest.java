package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /metrics}, {@code GET /v1/cluster} and the page at {@code /} on three in-process nodes
 * (the page in a real browser against real processes is {@link ClusterViewBrowserTest}).
 */
class ClusterViewTest {

    private static final Duration DEADLINE = Duration.ofSeconds(20);

    private static InProcessKvCluster cluster;
    private static List<KvHttpServer> https;
    private static final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void startCluster() throws IOException {
        Map<String, InetSocketAddress> httpPeers = new HashMap<>();
        for (String id : List.of("n1", "n2")) {
            try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                httpPeers.put(id, new InetSocketAddress("127.0.0.1", s.getLocalPort()));
            }
        }
        httpPeers.put("n3", new InetSocketAddress("127.0.0.1", 1)); // n3's HTTP never answers: shown as down
        Map<String, PrometheusMeterRegistry> registries = new HashMap<>();
        cluster = new InProcessKvCluster(List.of("n1", "n2", "n3"), InProcessKvCluster.FAST, id -> new MicrometerMetrics(
                registries.computeIfAbsent(id, i -> new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))),
                (id, server) -> id.equals("n3") ? null : KvHttpServer.start(server, httpPeers.get(id), 1024,
                        new ClusterView(server, httpPeers, registries.get(id)::scrape)),
                DEADLINE);
        https = cluster.https;
    }

    @AfterAll
    static void stopCluster() {
        cluster.close();
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
        assertThat(json).containsPattern("\"id\":\"n3\",\"http\":\"127.0.0.1:1\",\"url\":\"http://127.0.0.1:1/\","
                + "\"up\":false,\"error\":\"[^\"]+\"");
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
