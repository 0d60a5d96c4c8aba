package org.raftkit.examples.kv;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

import org.raftkit.RaftServer;

/**
 * The KV node's pages for people and monitoring, next to the API:
 * <ul>
 *   <li>{@code GET /}: the live cluster view, one self-contained HTML page (no build step, nothing
 *       fetched from elsewhere) that polls {@code /v1/cluster} every second;</li>
 *   <li>{@code GET /v1/cluster}: every member's {@code /v1/status}, asked by this node (so the page
 *       needs one origin), with {@code "up":false} for a member that does not answer in time. When
 *       the members serve HTTPS, this node asks over HTTPS and checks their certificates against
 *       the CA bundle it was given, and the links to their pages are https;</li>
 *   <li>{@code GET /metrics}: the node's metrics in Prometheus' text format.</li>
 * </ul>
 * Called on an HTTP event loop; never blocks it (peers are asked asynchronously).
 */
final class ClusterView {

    static final String PAGE_PATH = "/";
    static final String CLUSTER_PATH = "/v1/cluster";
    static final String METRICS_PATH = "/metrics";
    /** How long a member's status may take before the page shows it as down. */
    static final Duration PEER_TIMEOUT = Duration.ofMillis(800);

    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final RaftServer server;
    private final Map<String, InetSocketAddress> httpPeers;
    private final Supplier<String> metricsText;
    private final byte[] page;
    /** {@code "https"} when the members serve HTTPS, else {@code "http"}. */
    private final String scheme;
    private final HttpClient http;

    /** A view of members that serve plain HTTP. */
    ClusterView(RaftServer server, Map<String, InetSocketAddress> httpPeers, Supplier<String> metricsText) {
        this(server, httpPeers, metricsText, null);
    }

    /**
     * @param httpPeers   every member's HTTP address (this node's included), for {@code /v1/cluster};
     *                    members without one are listed without a status
     * @param metricsText the Prometheus text of this node's metrics, or null for no {@code /metrics}
     * @param peerTrust   when the members serve HTTPS, what their certificates are checked against
     *                    ({@link HttpTls#peerTrust()}); null when they serve plain HTTP
     */
    ClusterView(RaftServer server, Map<String, InetSocketAddress> httpPeers, Supplier<String> metricsText,
                javax.net.ssl.SSLContext peerTrust) {
        this.server = server;
        this.httpPeers = Map.copyOf(httpPeers);
        this.metricsText = metricsText;
        this.scheme = peerTrust == null ? "http" : "https";
        HttpClient.Builder client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(PEER_TIMEOUT);
        if (peerTrust != null) {
            client.sslContext(peerTrust);
        }
        this.http = client.build();
        try (InputStream in = ClusterView.class.getResourceAsStream("cluster.html")) {
            if (in == null) {
                throw new IllegalStateException("cluster.html is missing from the jar");
            }
            page = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The answer to {@code path}, or null if it is not one of these pages. */
    CompletableFuture<FullHttpResponse> route(String path, HttpMethod method) {
        boolean mine = path.equals(PAGE_PATH) || path.equals(CLUSTER_PATH)
                || (path.equals(METRICS_PATH) && metricsText != null);
        if (!mine) {
            return null;
        }
        if (!method.equals(HttpMethod.GET)) {
            FullHttpResponse r = KvHttpHandler.error(HttpResponseStatus.METHOD_NOT_ALLOWED, "method_not_allowed",
                    "allowed methods: GET, HEAD");
            r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            return CompletableFuture.completedFuture(r);
        }
        return switch (path) {
            case PAGE_PATH -> CompletableFuture.completedFuture(text(page, "text/html; charset=utf-8"));
            case METRICS_PATH -> CompletableFuture.completedFuture(
                    text(metricsText.get().getBytes(StandardCharsets.UTF_8), PROMETHEUS_TEXT));
            default -> clusterJson().thenApply(json -> text(json.getBytes(StandardCharsets.UTF_8), "application/json"));
        };
    }

    /**
     * {@code {"self":"n1","members":[{"id":"n1","http":"…","url":"…","up":true,"status":{…}},…]}},
     * members sorted by id; {@code url} is the member's own page, {@code https://} when it serves HTTPS.
     */
    private CompletableFuture<String> clusterJson() {
        List<CompletableFuture<String>> entries = new ArrayList<>();
        for (String id : server.status().members().stream().sorted().toList()) {
            entries.add(member(id));
        }
        return CompletableFuture.allOf(entries.toArray(new CompletableFuture<?>[0])).thenApply(ignored -> {
            StringBuilder b = new StringBuilder("{\"self\":").append(Json.quote(server.id())).append(",\"members\":[");
            for (int i = 0; i < entries.size(); i++) {
                b.append(i == 0 ? "" : ",").append(entries.get(i).join());
            }
            return b.append("]}").toString();
        });
    }

    private CompletableFuture<String> member(String id) {
        InetSocketAddress address = httpPeers.get(id);
        String hostPort = address == null ? null : address.getHostString() + ":" + address.getPort();
        String head = "{\"id\":" + Json.quote(id) + ",\"http\":" + Json.quote(hostPort)
                + ",\"url\":" + Json.quote(hostPort == null ? null : scheme + "://" + hostPort + PAGE_PATH);
        if (id.equals(server.id())) {
            return CompletableFuture.completedFuture(head + ",\"up\":true,\"status\":"
                    + KvHttpHandler.statusJson(server.status(), server.configuration()) + "}");
        }
        if (address == null) {
            return CompletableFuture.completedFuture(head + ",\"up\":false,\"error\":\"no HTTP address known\"}");
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create(scheme + "://" + hostPort + KvHttpHandler.STATUS_PATH))
                .timeout(PEER_TIMEOUT).GET().build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8))
                .handle((r, failure) -> {
                    if (failure == null && r.statusCode() == 200) {
                        return head + ",\"up\":true,\"status\":" + r.body() + "}";
                    }
                    String why = failure == null ? "HTTP " + r.statusCode() : why(failure);
                    return head + ",\"up\":false,\"error\":" + Json.quote(why) + "}";
                });
    }

    private static String why(Throwable failure) {
        Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
        if (cause instanceof java.net.ConnectException) {
            return "connection refused";
        }
        if (cause instanceof java.net.http.HttpTimeoutException) {
            return "no answer within " + PEER_TIMEOUT.toMillis() + " ms";
        }
        if (CaBundle.isCertificateFailure(failure)) {
            return "its HTTPS certificate is not accepted: " + CaBundle.reason(failure);
        }
        return KvMain.describe(cause);
    }

    private static FullHttpResponse text(byte[] body, String contentType) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        HttpUtil.setContentLength(r, body.length);
        return r;
    }
}
