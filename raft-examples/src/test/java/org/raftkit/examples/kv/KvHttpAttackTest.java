package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.raftkit.metrics.RaftMetrics;
import org.raftkit.runtime.Await;

/**
 * Hostile HTTP clients against one KV node with small limits: each test is an attack that used to
 * hold memory or descriptors for ever, or to smuggle a request, and must now fail harmlessly while
 * the node keeps serving others.
 */
class KvHttpAttackTest {

    private static final int MAX_VALUE_BYTES = 64 << 10;
    private static final HttpLimits LIMITS = new HttpLimits(8, 1_500, 4, 16 << 10);
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    private static InProcessKvCluster node;
    private static KvHttpServer http;

    @BeforeAll
    static void start() {
        node = new InProcessKvCluster(List.of("n1"), InProcessKvCluster.FAST, id -> RaftMetrics.NONE,
                (id, server) -> KvHttpServer.start(server, new InetSocketAddress("127.0.0.1", 0), MAX_VALUE_BYTES, null,
                        LIMITS),
                DEADLINE);
        http = node.https.get(0);
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void slowlorisConnectionsAreCapped() throws IOException {
        // A server of its own, whose request timeout outlasts the checks below even on a loaded machine.
        HttpLimits limits = new HttpLimits(8, 10_000, 4, 16 << 10);
        KvHttpServer capped = KvHttpServer.start(node.servers.get(0), new InetSocketAddress("127.0.0.1", 0),
                MAX_VALUE_BYTES, null, limits);
        int port = capped.address().getPort();
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < limits.maxConnections(); i++) {
                Socket s = new Socket("127.0.0.1", port);
                s.getOutputStream().write("GET /v1/status HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
                slow.add(s);
            }
            // The server counts a connection once its event loop has seen it: wait for the cap to bite.
            Await.await(DEADLINE, () -> closedByServer(connectQuietly(port), Duration.ofMillis(500)),
                    () -> "a connection beyond the cap to be closed at once");
            // Each slow one is closed once it fails to finish its request in time ...
            for (Socket s : slow) {
                assertThat(closedByServer(s, DEADLINE)).as("a slowloris connection is closed").isTrue();
            }
            // ... and the node serves again.
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout((int) DEADLINE.toMillis());
                s.getOutputStream().write("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");
            }
        } finally {
            for (Socket s : slow) {
                s.close();
            }
            capped.close();
        }
    }

    @Test
    void idleConnectionsAreClosed() throws IOException {
        try (Socket s = connect()) {
            assertThat(closedByServer(s, DEADLINE)).isTrue();
        }
    }

    @Test
    void pipelinedFloodIsBounded() throws IOException {
        String big = "b".repeat(MAX_VALUE_BYTES);
        assertThat(roundTrip("PUT /v1/kv/flood HTTP/1.1\r\nHost: x\r\nContent-Length: " + big.length()
                + "\r\n\r\n" + big)).startsWith("HTTP/1.1 200");
        byte[] request = "GET /v1/kv/flood?consistency=stale HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        try (SocketChannel flood = SocketChannel.open(new InetSocketAddress("127.0.0.1", http.address().getPort()));
             Selector selector = Selector.open()) {
            flood.configureBlocking(false);
            flood.register(selector, SelectionKey.OP_WRITE);
            // Send up to 100,000 pipelined GETs of a 64 KiB value (6.5 GB of answers) and never read.
            // The node must stop reading them, so our writes stall instead of its heap filling up;
            // once no whole request has been read for the request timeout, it closes the connection.
            int sent = 0;
            boolean stalled = false;
            try {
                while (sent < 100_000 && !stalled) {
                    ByteBuffer b = ByteBuffer.wrap(request);
                    while (b.hasRemaining()) {
                        if (flood.write(b) == 0 && selector.select(2_000) == 0) {
                            stalled = true;
                            break;
                        }
                        selector.selectedKeys().clear();
                    }
                    sent++;
                }
            } catch (IOException closedByTheNode) {
                stalled = true;
            }
            assertThat(stalled).as("writes stall or are cut off after " + sent + " requests").isTrue();
            assertThat(sent).isLessThan(100_000);
            // Everyone else is still served, and the node is healthy.
            assertThat(roundTrip("GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 200")
                    .contains("\"state\":\"running\"");
        }
    }

    @Test
    void endlessChunkedBodyAfter413IsCutOff() throws IOException {
        try (Socket s = connect()) {
            s.setSoTimeout((int) DEADLINE.toMillis());
            s.getOutputStream().write(("PUT /v1/kv/endless HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = ("1000\r\n" + "c".repeat(0x1000) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            long written = 0;
            boolean cut = false;
            try {
                // Far more than the value limit plus the discard allowance.
                while (written < 64L * (MAX_VALUE_BYTES + LIMITS.maxDiscardBytes())) {
                    s.getOutputStream().write(chunk);
                    written += chunk.length;
                }
            } catch (IOException resetOrBrokenPipe) {
                cut = true;
            }
            String answer = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            assertThat(answer).isEqualTo("HTTP/1.1 413");
            assertThat(cut || closedByServer(s, DEADLINE)).as("the connection is closed after " + written + " bytes")
                    .isTrue();
        } catch (java.net.SocketException reset) {
            // Closed while we were still sending: reading the 413 may then fail with a reset. Also a pass.
            assertThat(reset.getMessage()).containsAnyOf("reset", "Broken pipe", "closed");
        }
    }

    @Test
    void xchunkedTransferEncodingIsRefused() throws IOException {
        String smuggled = "PUT /v1/kv/smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx";
        String answer = roundTrip("PUT /v1/kv/carrier HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n"
                + smuggled);
        assertThat(answer).startsWith("HTTP/1.1 400").contains("only 'chunked' is").doesNotContain("HTTP/1.1 200");
        assertThat(roundTrip("GET /v1/kv/smuggled HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 404");
        assertThat(roundTrip("GET /v1/kv/carrier HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 404");
        assertThat(roundTrip("PUT /v1/kv/t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"))
                .startsWith("HTTP/1.1 400");
        assertThat(roundTrip("PUT /v1/kv/t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + "1\r\nv\r\n0\r\n\r\n")).startsWith("HTTP/1.1 200");
    }

    // ---- helpers -------------------------------------------------------------------------------

    private static Socket connect() throws IOException {
        return new Socket("127.0.0.1", http.address().getPort());
    }

    private static Socket connectQuietly(int port) {
        try {
            return new Socket("127.0.0.1", port);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Whether the server closes {@code s} (end of stream or reset) within {@code within}; closes it either way. */
    private static boolean closedByServer(Socket s, Duration within) {
        try (s) {
            s.setSoTimeout((int) within.toMillis());
            InputStream in = s.getInputStream();
            while (in.read() >= 0) {
                // An answer may come first (a 413, say); closing is what counts.
            }
            return true;
        } catch (SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    /** Sends {@code request} and returns what arrives until the server closes or goes quiet for a second. */
    private static String roundTrip(String request) throws IOException {
        try (Socket s = connect()) {
            s.setSoTimeout(1_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            StringBuilder answer = new StringBuilder();
            byte[] buffer = new byte[8192];
            try {
                for (int n; (n = s.getInputStream().read(buffer)) > 0; ) {
                    answer.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
                }
            } catch (SocketTimeoutException quiet) {
                // Keep-alive: what arrived is the answer.
            }
            return answer.toString();
        }
    }
}
