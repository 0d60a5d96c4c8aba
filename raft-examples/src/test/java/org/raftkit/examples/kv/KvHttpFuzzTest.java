package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.code_intelligence.jazzer.junit.FuzzTest;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;

import org.junit.jupiter.api.Test;
import org.raftkit.RaftConfig;
import org.raftkit.RaftServer;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.memory.MemoryNetwork;
import org.raftkit.memory.MemoryTermVoteStore;

/**
 * Fuzz target (docs/TESTING.md, "Fuzzing"): arbitrary bytes as what a client sends on one HTTP
 * connection, into the KV API's pipeline on an {@link EmbeddedChannel}, in front of a real
 * one-node {@link RaftServer} with the KV state machine that runs on this thread in virtual time
 * ({@link OneThreadScheduler}), so every input replays exactly. For every input it asserts that
 * <ul>
 *   <li>no exception escapes the pipeline, and none reaches the KV handler from the HTTP codec or
 *       the aggregator while the connection is open;</li>
 *   <li>what the server writes parses as well-formed HTTP/1.1 responses, one per request the
 *       codec passed on (and the aggregator's own 413 or 417), each with a status the API documents (never a 500);</li>
 *   <li>a request left unanswered is explained only by the connection being closed after a
 *       response that said {@code Connection: close} (or by the client's own close).</li>
 * </ul>
 * The pipeline is {@link KvHttpServer}'s with its default {@link HttpLimits}, rebuilt here because
 * its initializer is not reachable from a test: the connection cap, the same {@link HttpServerCodec}
 * limits, {@link HttpGuard}, the server's own body aggregator ({@code KvHttpServer.ValueSizeLimit},
 * whose 413 is answered in its request's turn) and {@link KvHttpHandler}. The guard's timers do not fire here: time on the channel does not pass. Seeds (a PUT, a GET, a conditional PUT, a DELETE, pipelined requests, a chunked
 * body, a status request, an oversized value) are in
 * {@code src/test/resources/org/raftkit/examples/kv/KvHttpFuzzTestInputs/}.
 */
class KvHttpFuzzTest {

    private static final int MAX_VALUE_BYTES = 1024;
    /** Longer than any request may wait (requestTimeoutMillis), in virtual time. */
    private static final long ANSWER_WITHIN_NANOS = 10_000_000_000L;
    private static final long ELECTION_WITHIN_NANOS = 5_000_000_000L;
    /** The statuses of docs/OPERATIONS.md's API, plus the aggregator's 100 Continue and 417. */
    private static final Set<Integer> DOCUMENTED_STATUSES = Set.of(100, 200, 204, 400, 404, 405, 412, 413, 417,
            503, 504);

    @FuzzTest(maxDuration = "5m")
    void anyRequestBytesGetWellFormedAnswersOrAClose(byte[] input) {
        OneThreadScheduler scheduler = new OneThreadScheduler();
        MemoryNetwork network = new MemoryNetwork(MemoryNetwork.Delivery.DIRECT);
        RaftServer server = RaftServer.builder().id("n1").peers("n1").stateMachine(new KvStateMachine())
                .logStorage(new MemoryLogStorage()).termVoteStore(new MemoryTermVoteStore())
                .transport(network.transport("n1")).config(RaftConfig.defaults()).random(1)
                .scheduler(scheduler).build();
        try {
            server.start();
            assertThat(scheduler.runUntil(() -> server.status().isLeader(), ELECTION_WITHIN_NANOS))
                    .as("the one node leads").isTrue();

            RequestCounter requests = new RequestCounter();
            MethodRecorder methods = new MethodRecorder();
            EmbeddedChannel ch = new EmbeddedChannel(
                    new HttpGuard.ConnectionCap(HttpLimits.DEFAULTS.maxConnections()),
                    new HttpServerCodec(4096, KvHttpServer.MAX_HEAD_BYTES, 8192),
                    methods,
                    new HttpGuard(HttpLimits.DEFAULTS),
                    new KvHttpServer.ValueSizeLimit(MAX_VALUE_BYTES),
                    requests,
                    new KvHttpHandler(server, null, HttpLimits.DEFAULTS.maxPipelined()));
            List<FullHttpResponse> responses = new ArrayList<>();
            try (ResponseReader reader = new ResponseReader()) {
                ch.writeInbound(Unpooled.wrappedBuffer(input));
                scheduler.runUntil(() -> {
                    ch.runPendingTasks();
                    reader.readFrom(ch, methods, responses);
                    return !ch.isOpen() || answered(responses) >= requests.count;
                }, ANSWER_WITHIN_NANOS);
                // Taken before the client closes: the codec then passes on a request it had only
                // begun to read, marked failed, which nobody can answer any more.
                boolean openBeforeClientClosed = ch.isOpen();
                int requestsBeforeClientClosed = requests.count;
                ch.finishAndReleaseAll();
                assertThat(requests.failures).as("exceptions that reached the KV handler").isEmpty();
                checkAnswers(responses, requestsBeforeClientClosed, openBeforeClientClosed);
            } finally {
                responses.forEach(FullHttpResponse::release);
            }
        } finally {
            server.close();
        }
    }

    /**
     * The fuzzer's finding of 2026-12-07: a linearizable-read parameter whose name holds a bad
     * percent-escape ({@code ?consistency%=stale}) makes {@code QueryStringDecoder.parameters()}
     * throw IllegalArgumentException, which the handler maps to 500 "internal" (and a WARN with a
     * stack trace) instead of 400. Disabled until KvHttpHandler turns it into a bad request, as it
     * does for the key; then the input goes into the corpus.
     */
    @Test
    void aBadPercentEscapeInTheQueryIsABadRequestNotAServerError() {
        anyRequestBytesGetWellFormedAnswersOrAClose(
                "GET /v1/kv/a?consistency%=stale HTTP/1.1\r\nHost: n1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * The fuzzer's finding of 2026-12-07, not yet understood to the end: pipelined requests where a
     * later one is over the value limit. The aggregator writes its 413 at once, ahead of the answers
     * the handler still owes to earlier requests (they wait for Raft), so the answers leave out of
     * request order; the server codec, which pairs each answer with the oldest request's method,
     * then strips the body of the 404 owed to an earlier GET as if it answered the HEAD, and the
     * client reads the next response's bytes as garbage ("invalid version format: N"). The input
     * (HEAD, GETs, a PUT, then a request with Content-Length: 2000) is the fuzzer's, as found.
     */
    @Test
    void anOversizedPipelinedRequestDoesNotOvertakeTheAnswersOwedBeforeIt() {
        anyRequestBytesGetWellFormedAnswersOrAClose(java.util.Base64.getDecoder().decode(
                "SEVBRCAvdjEva3YvYSBIVFRQLzEuMQ0KSGdzdDogbjENCkNvbnRlbnQtTGVuZ3RoOiAxDQoNCjFHRVQgL3YxL2t2L2E/Y28u" +
                "bnNpc3RlbmN5PXYxL2t2L2EgSFRUUC8xLjENCkhnc3Q6IG4xDQpDb250ZW50LUxlbmd0aDogMQ0KDQoxR0VUIC92MS9rdi9h" +
                "P2NvLm5zaXN0ZW5jeT1zdGFsc3RhbGUgSFRUUC8xLjENCkhvc3Q6IG4xDQoNClBVVCAvdjEva3YvYSBIVFRQLzEuMQ0KSG9z" +
                "dDogbjENCmd0aDogMQ0KDQoxR0VUIC92MS9rdi9hP2NvLm5zaXN0ZW5jeT12MS9rdi9hIEhUVFAvMC4xDQpIZ3N0OiBuMQ0K" +
                "Q29udGVudC1MZW5ndGg6IDENCg0KMUdFVVQgL3YxL2svXGlnIEhUVFAvMC4xCkhvc3Q6IG4xDQpDb250ZW50LUxlbmd0aDog" +
                "MjAwMA0KDS8xLjENCkhnc3Q6IG4xDQpDb253ZW50LUxlbmd0aDogMQ0KDQoxR0VUIC92MS9rdi9hP2NvLm5zaXN0ZW5jeT1z" +
                "dGFsc3RhbGUgSFRUUC8xLjENCm9zdDogbjENCg0KUFVUIC92MURFTEVURSAvdlBVVC9ldyUyMGtleSBIVFRQLzEuMQ0KSG9z" +
                "dDogbjENCkFhdGNoOiAtDQpUcmFuc2Zlci1FbmNvZGluLzEuMWc6IGNodW5rZWQNCm9zdDogMQ=="));
    }

    private static void checkAnswers(List<FullHttpResponse> responses, int requestCount, boolean stillOpen) {
        for (FullHttpResponse r : responses) {
            assertThat(r.decoderResult().isSuccess()).as("response parses: %s", r.decoderResult()).isTrue();
            assertThat(DOCUMENTED_STATUSES).as("status of %s", r).contains(r.status().code());
        }
        int answered = answered(responses);
        assertThat(answered).as("final responses vs requests").isLessThanOrEqualTo(requestCount);
        if (answered < requestCount) {
            assertThat(stillOpen).as("%s of %s requests unanswered on an open connection", requestCount - answered,
                    requestCount).isFalse();
            assertThat(responses).as("responses before the server closed").isNotEmpty();
            FullHttpResponse last = responses.get(responses.size() - 1);
            assertThat(last.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE, true))
                    .as("the last response before the close says Connection: close").isTrue();
        }
    }

    /**
     * Final responses to requests that reached the KV handler: not the interim 100 Continue, nor
     * the 413 and 417 the aggregator answers itself for a request it never passes on.
     */
    private static int answered(List<FullHttpResponse> responses) {
        return (int) responses.stream().map(r -> r.status().code())
                .filter(code -> code >= 200 && code != 413 && code != 417).count();
    }

    /**
     * Remembers the method of every request the codec decodes, answered by the handler or by the
     * aggregator, in order: the client needs them to read the responses (one to HEAD has no body).
     */
    private static final class MethodRecorder extends ChannelInboundHandlerAdapter {
        final List<HttpMethod> methods = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest request) {
                methods.add(request.method());
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** Counts the requests the aggregator passes on, and records any exception on its way to the handler. */
    private static final class RequestCounter extends ChannelInboundHandlerAdapter {
        int count;
        final List<Throwable> failures = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof FullHttpRequest) {
                count++;
            }
            ctx.fireChannelRead(msg);
        }

        /**
         * Once the connection is closed, by either side, the aggregator reports a message it was
         * still reading (PrematureChannelClosureException) and the handler closes what is already
         * closed; only an exception on an open connection is a finding.
         */
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (ctx.channel().isActive()) {
                failures.add(cause);
            }
            ctx.fireExceptionCaught(cause);
        }
    }

    /**
     * The client's side: parses what the server wrote as HTTP responses, with Netty's client codec,
     * told each request's method as if the client had sent it (so it expects no body after HEAD).
     */
    private static final class ResponseReader implements AutoCloseable {
        private final EmbeddedChannel client = new EmbeddedChannel(new HttpClientCodec(),
                new HttpObjectAggregator(1 << 20));
        private int requestsSent;

        void readFrom(EmbeddedChannel server, MethodRecorder requests, List<FullHttpResponse> into) {
            for (; requestsSent < requests.methods.size(); requestsSent++) {
                // CONNECT would turn the client codec into a tunnel after a 2xx: the API never
                // answers CONNECT with one, and a GET reads any other answer the same way.
                HttpMethod method = requests.methods.get(requestsSent);
                client.writeOutbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1,
                        method.equals(HttpMethod.CONNECT) ? HttpMethod.GET : method, "/"));
                client.releaseOutbound();
            }
            for (Object out = server.readOutbound(); out != null; out = server.readOutbound()) {
                assertThat(out).as("what the server wrote").isInstanceOf(ByteBuf.class);
                client.writeInbound(out);
            }
            for (FullHttpResponse r = client.readInbound(); r != null; r = client.readInbound()) {
                into.add(r);
            }
        }

        @Override
        public void close() {
            client.finishAndReleaseAll();
        }
    }
}
