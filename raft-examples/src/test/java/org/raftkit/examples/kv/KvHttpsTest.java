package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.RaftConfig;
import org.raftkit.runtime.Await;
import org.raftkit.transport.netty.TlsConfig;

/**
 * The KV API over HTTPS as {@code serve} runs it when TLS is on: three nodes in this JVM with the
 * throwaway certificates of {@code cluster --tls}, mutual TLS between them and HTTPS (same files)
 * in front. A client that trusts the CA reads and writes; the CLI does with {@code --cacert} and
 * says what to do without it; the cluster view asks its peers over HTTPS.
 */
class KvHttpsTest {

    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private static final List<String> IDS = List.of("n1", "n2", "n3");

    @TempDir
    static Path dir;
    private static final List<KvNode> nodes = new ArrayList<>();
    private static final Map<String, InetSocketAddress> httpPeers = new LinkedHashMap<>();
    private static Path ca;
    private static HttpClient trusting;

    @BeforeAll
    static void startThreeNodesWithTls() throws IOException {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Map<String, TlsConfig> tls = TlsFlags.throwaway(dir, KvNode.DEFAULT_CLUSTER_ID, IDS, quiet);
        ca = dir.resolve("ca.pem");
        trusting = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(CaBundle.trustOnly(ca, "the test's CA")).build();
        Map<String, InetSocketAddress> raftPeers = new LinkedHashMap<>();
        for (String id : IDS) {
            raftPeers.put(id, freePort());
            httpPeers.put(id, freePort());
        }
        for (String id : IDS) {
            // The nine-argument Settings, as bench and the tests before HTTPS use: HTTPS follows TLS.
            KvNode.Settings settings = new KvNode.Settings(id, raftPeers.get(id), httpPeers.get(id), raftPeers,
                    dir.resolve(id), false, KvNode.DEFAULT_MAX_VALUE_BYTES, KvNode.DEFAULT_CLUSTER_ID, tls.get(id));
            assertThat(settings.https()).isEqualTo(HttpTls.sameAs(tls.get(id)));
            nodes.add(KvNode.start(settings, RaftConfig.defaults(), httpPeers, KvNode.loggingListener()));
        }
        Await.await(DEADLINE, () -> nodes.stream().anyMatch(n -> n.server().status().isLeader()), () -> "a leader");
    }

    @AfterAll
    static void stopNodes() {
        nodes.forEach(KvNode::close);
    }

    @Test
    void throwawayNodeCertificatesNameTheLoopbackHostBesidesTheRaftIdentity() throws Exception {
        X509Certificate cert;
        try (var in = Files.newInputStream(dir.resolve("n1/tls/node.pem"))) {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        // The JDK decodes the DER extension: 6 is a URI, 2 a DNS name, 7 an IP address.
        assertThat(cert.getSubjectAlternativeNames()).containsExactlyInAnyOrder(
                List.of(6, TlsConfig.nodeUri(KvNode.DEFAULT_CLUSTER_ID, "n1")), List.of(2, "localhost"),
                List.of(7, "127.0.0.1"));

        // The JDK's own HTTPS host check (what HttpsURLConnection and HttpClient apply), for the
        // name localhost, connecting to 127.0.0.1 so that no resolver is involved.
        SSLContext context = CaBundle.trustOnly(ca, "the test's CA");
        InetSocketAddress n1 = httpPeers.get("n1");
        try (Socket raw = new Socket(n1.getAddress(), n1.getPort());
             SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(raw, "localhost", n1.getPort(), true)) {
            SSLParameters parameters = tls.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            tls.setSSLParameters(parameters);
            tls.setSoTimeout((int) DEADLINE.toMillis());
            tls.startHandshake();
            assertThat(tls.getSession().getPeerPrincipal().getName()).isEqualTo("CN=n1");
        }
    }

    @Test
    void aClientThatTrustsTheCaWritesAndReadsOverHttps() throws Exception {
        HttpResponse<String> put = trusting.send(HttpRequest.newBuilder(url("n1", "/v1/kv/greeting"))
                .PUT(HttpRequest.BodyPublishers.ofString("hello over https")).timeout(DEADLINE).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(put.statusCode()).isEqualTo(200);
        HttpResponse<String> get = trusting.send(HttpRequest.newBuilder(url("n3", "/v1/kv/greeting")).timeout(DEADLINE)
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(get.statusCode()).isEqualTo(200);
        assertThat(get.body()).isEqualTo("hello over https");
        assertThat(get.sslSession()).hasValueSatisfying(s -> assertThat(s.getProtocol()).isEqualTo("TLSv1.3"));
    }

    @Test
    void plainHttpToTheHttpsPortIsAnsweredWithA400SayingUseHttps() throws Exception {
        InetSocketAddress n2 = httpPeers.get("n2");
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + n2.getPort() + "/v1/status")).timeout(DEADLINE).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(Json.field(r.body(), "message")).isEqualTo(KvHttpServer.HttpsOnly.MESSAGE);
    }

    @Test
    void theCliWithCacertPutsGetsAndShowsStatus() {
        KvMainRun put = cli("put", "cli-key", "cli-value", "--cacert", ca.toString(), "--endpoints", endpoints());
        assertThat(put.code()).as(put.err()).isZero();
        assertThat(put.out()).startsWith("OK revision=");
        KvMainRun get = cli("get", "cli-key", "--cacert", ca.toString(), "--endpoints", endpoints());
        assertThat(get.out()).isEqualTo("cli-value" + System.lineSeparator());
        KvMainRun status = cli("status", "--cacert", ca.toString(), "--endpoints", endpoints());
        assertThat(status.code()).isZero();
        assertThat(status.out()).containsPattern("https://127.0.0.1:" + httpPeers.get("n3").getPort() + " +n3 ")
                .doesNotContain("unreachable");
    }

    @Test
    void theCliWithoutCacertSaysTheCertificateIsNotTrustedAndSuggestsCacert() {
        long started = System.nanoTime();
        KvMainRun get = cli("get", "anything", "--endpoints", endpoints());
        assertThat(get.code()).isEqualTo(1);
        assertThat(get.err()).startsWith("error: the HTTPS certificate of " + url("n1", ""))
                .contains("is not trusted").contains("--cacert DIR/ca.pem");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("a wrong CA is not retried until the timeout")
                .isLessThan(Duration.ofSeconds(5));

        KvMainRun status = cli("status", "--endpoints", endpoints());
        assertThat(status.code()).isEqualTo(1);
        assertThat(status.out()).contains("unreachable (certificate not accepted)");
        assertThat(status.err()).contains("is not trusted").contains("--cacert");
    }

    @Test
    void aCacertFromAnotherCaIsNamedInTheError() throws Exception {
        Path other = dir.resolve("other-ca");
        org.raftkit.transport.netty.tls.DevCertificates.createAuthority(other, "another-ca");
        KvMainRun get = cli("get", "anything", "--cacert", other.resolve("ca.pem").toString(), "--endpoints", endpoints());
        assertThat(get.code()).isEqualTo(1);
        assertThat(get.err()).contains("is not trusted by --cacert " + other.resolve("ca.pem"));
    }

    @Test
    void aBadCacertFileIsNamed() throws IOException {
        Path missing = dir.resolve("no-such-ca.pem");
        assertThat(cli("get", "k", "--cacert", missing.toString(), "--endpoints", endpoints()))
                .satisfies(r -> assertThat(r.code()).isEqualTo(1))
                .satisfies(r -> assertThat(r.err()).isEqualTo("error: --cacert " + missing + ": no such file"
                        + System.lineSeparator()));
        Path empty = Files.writeString(dir.resolve("empty.pem"), "");
        assertThat(cli("get", "k", "--cacert", empty.toString()).err())
                .startsWith("error: --cacert " + empty + " holds no certificate");
        Path key = dir.resolve("n1/tls/node.key");
        assertThat(cli("get", "k", "--cacert", key.toString()).err()).startsWith("error: --cacert " + key);
        assertThat(cli("get", "k", "--cacert", dir.toString()).err())
                .startsWith("error: --cacert " + dir + ": cannot read it");
    }

    @Test
    void theClusterViewAsksEveryPeerOverHttpsAndLinksToHttpsPages() {
        String[] json = new String[1];
        Await.await(DEADLINE, () -> {
            try {
                json[0] = trusting.send(HttpRequest.newBuilder(url("n2", ClusterView.CLUSTER_PATH)).timeout(DEADLINE)
                        .build(), HttpResponse.BodyHandlers.ofString()).body();
            } catch (IOException | InterruptedException e) {
                throw new AssertionError(e);
            }
            return json[0].split("\"up\":true", -1).length - 1 == 3;
        }, () -> "every member up in the cluster view: " + json[0]);
        for (String id : IDS) {
            assertThat(json[0]).contains("\"url\":\"https://127.0.0.1:" + httpPeers.get(id).getPort() + "/\"");
        }
        assertThat(json[0]).doesNotContain("\"url\":\"http://");
    }

    @Test
    void aMissingHttpsFileIsNamedAndTheNodeDoesNotStart() throws IOException {
        Path missing = dir.resolve("api.pem");
        Path data = dir.resolve("never-started");
        String raft = "127.0.0.1:" + freePort().getPort();
        KvMainRun serve = cli("serve", "--id", "n1", "--raft", raft,
                "--http", "127.0.0.1:" + freePort().getPort(), "--peers", "n1=" + raft, "--data", data.toString(),
                "--tls-cert", dir.resolve("n1/tls/node.pem").toString(), "--tls-key", dir.resolve("n1/tls/node.key").toString(),
                "--tls-ca", ca.toString(), "--http-tls-cert", missing.toString());
        assertThat(serve.code()).as(serve.err()).isEqualTo(1);
        assertThat(serve.err()).contains("the HTTPS certificate chain " + missing + " does not exist");
        assertThat(data).as("nothing was opened").doesNotExist();
    }

    @Test
    void anHttpsKeyThatIsNotTheCertificatesIsNamedAndTheNodeDoesNotStart() throws IOException {
        Path data = dir.resolve("never-started-2");
        String raft = "127.0.0.1:" + freePort().getPort();
        Path otherKey = dir.resolve("n2/tls/node.key"); // n2's key with n1's certificate
        KvMainRun serve = cli("serve", "--id", "n1", "--raft", raft,
                "--http", "127.0.0.1:" + freePort().getPort(), "--peers", "n1=" + raft, "--data", data.toString(),
                "--tls-cert", dir.resolve("n1/tls/node.pem").toString(), "--tls-key", dir.resolve("n1/tls/node.key").toString(),
                "--tls-ca", ca.toString(), "--http-tls-key", otherKey.toString());
        assertThat(serve.code()).as(serve.err()).isEqualTo(1);
        assertThat(serve.err()).contains(otherKey.toString()).contains("does not belong to");
        assertThat(data).as("nothing was opened").doesNotExist();
    }

    @Test
    void httpsMayUseOtherFilesThanTheRaftPort() throws Exception {
        // Plaintext Raft, HTTPS with files of its own (here n2's throwaway certificate, which names 127.0.0.1).
        Flags f = Flags.parse("serve", new String[] {"--http-tls-cert", dir.resolve("n2/tls/node.pem").toString(),
                "--http-tls-key", dir.resolve("n2/tls/node.key").toString(), "--http-tls-ca", ca.toString()},
                HttpTls.FLAGS);
        HttpTls https = HttpTls.fromFlags(f, TlsConfig.plaintext());
        InetSocketAddress raft = freePort();
        InetSocketAddress http = freePort();
        try (KvNode alone = KvNode.start(new KvNode.Settings("solo", raft, http, Map.of("solo", raft),
                dir.resolve("solo"), false, 1024, KvNode.DEFAULT_CLUSTER_ID, TlsConfig.plaintext(), https),
                RaftConfig.defaults(), Map.of(), KvNode.loggingListener())) {
            Await.await(DEADLINE, () -> alone.server().status().isLeader(), () -> "solo to lead");
            HttpResponse<String> put = trusting.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:"
                    + http.getPort() + "/v1/kv/solo")).PUT(HttpRequest.BodyPublishers.ofString("v")).timeout(DEADLINE)
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(put.statusCode()).isEqualTo(200);
            assertThat(put.sslSession().orElseThrow().getPeerPrincipal().getName()).isEqualTo("CN=n2");
        }
    }

    // ---------------------------------------------------------------------------------------------

    private static KvMainRun cli(String... args) {
        return KvMainRun.of(args);
    }

    private static String endpoints() {
        return String.join(",", IDS.stream().map(id -> url(id, "").toString()).toList());
    }

    private static URI url(String id, String path) {
        return URI.create("https://127.0.0.1:" + httpPeers.get(id).getPort() + path);
    }

    private static InetSocketAddress freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return new InetSocketAddress("127.0.0.1", s.getLocalPort());
        }
    }
}
