package org.raftkit.examples.kv;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;

import org.raftkit.CommandTooLargeException;
import org.raftkit.NotLeaderException;
import org.raftkit.RaftServer;
import org.raftkit.RaftStatus;
import org.raftkit.ServerBusyException;
import org.raftkit.ServerClosedException;
import org.raftkit.StateMachineException;
import org.raftkit.UnknownOutcomeException;
import org.raftkit.examples.kv.KvCommand.Condition;
import org.raftkit.examples.kv.KvCommand.Result;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP connection's requests: routes them (docs/OPERATIONS.md), turns them into KV commands for
 * {@link RaftServer}, and answers in request order even when a client pipelines requests and the
 * answers complete out of order. Runs on the connection's event loop; Raft's futures complete on
 * the node's threads and hop back here.
 */
final class KvHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger log = LoggerFactory.getLogger(KvHttpHandler.class);

    static final String KV_PREFIX = "/v1/kv/";
    static final String STATUS_PATH = "/v1/status";
    /** {@code POST}: this node takes a snapshot now and compacts its log behind it. */
    static final String SNAPSHOT_PATH = "/v1/admin/snapshot";
    /** Longest key accepted, in UTF-8 bytes. */
    static final int MAX_KEY_BYTES = 1024;
    /** Seconds a client is told to wait before retrying when no leader is known. */
    static final String RETRY_AFTER_SECONDS = "1";

    private final RaftServer server;
    /** The cluster view, {@code /v1/cluster} and {@code /metrics}, or null for none. */
    private final ClusterView view;
    /** Answers not yet written, oldest first; event loop only. */
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();

    private static final class Pending {
        final boolean keepAlive;
        /** Close only our side once written, so the client still reads the answer (a 413 mid-body). */
        boolean halfClose;
        FullHttpResponse response;

        Pending(boolean keepAlive) {
            this.keepAlive = keepAlive;
        }
    }

    /** Most requests read and not yet answered; past it the connection is not read (back-pressure). */
    private final int maxPipelined;

    /** The membership endpoints ({@link MembersApi}). */
    private final MembersApi members;
    /** Requests read and not yet answered on every connection of the server, and whether it drains. */
    private final Drain drain;

    /**
     * What a graceful stop needs to know of all connections: how many requests are read and not yet
     * answered, and whether the server drains (each answer from then on closes its connection, so
     * clients move to another node instead of sending more here). Thread-safe.
     */
    static final class Drain {
        final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
        /** Connections open now. */
        final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();
        /** When the last request was read ({@code System.nanoTime}). */
        volatile long lastReadNanos = System.nanoTime();
        volatile boolean draining;
    }

    // Counted from the pipeline's point of view: over HTTPS this handler joins an active channel
    // after the handshake, so channelActive would never reach it.
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        drain.connections.incrementAndGet();
        super.handlerAdded(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) throws Exception {
        drain.connections.decrementAndGet();
        super.handlerRemoved(ctx);
    }



    /** A handler whose {@code /v1/members} shows no address for members the configuration names by id alone. */
    KvHttpHandler(RaftServer server, ClusterView view, int maxPipelined) {
        this(server, view, maxPipelined, new MembersApi(server, java.util.Map.of(), MEMBER_CATCH_UP_MILLIS), new Drain());
    }

    /** A handler that serves the membership endpoints with {@code members}, counting its requests in {@code drain}. */
    KvHttpHandler(RaftServer server, ClusterView view, int maxPipelined, MembersApi members, Drain drain) {
        this.server = server;
        this.view = view;
        this.maxPipelined = maxPipelined;
        this.members = members;
        this.drain = drain;
    }

    /**
     * How long {@code POST /v1/members} adding a voter waits for the new learner to catch up before
     * it answers with the refusal (the node stays a learner; promote it later).
     */
    static final long MEMBER_CATCH_UP_MILLIS = 30_000;

    /**
     * A 413 the body aggregator decided on while the client was still sending the body. It is
     * answered in its turn, after the answers still owed to the requests before it: written at
     * once, it overtook them and the client paired every later answer with the wrong request
     * (found by fuzzing). After it this side closes, as the client may still be sending.
     */
    record Oversized(FullHttpResponse response) {
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (event instanceof Oversized oversized) {
            Pending slot = new Pending(false);
            slot.halfClose = true;
            pending.add(slot);
            drain.inFlight.incrementAndGet();
            complete(ctx, slot, oversized.response());
            return;
        }
        super.userEventTriggered(ctx, event);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        // After a request the decoder could not parse, the stream may be out of step: close it.
        Pending slot = new Pending(HttpUtil.isKeepAlive(request) && request.decoderResult().isSuccess()
                && !drain.draining);
        pending.add(slot);
        drain.inFlight.incrementAndGet();
        drain.lastReadNanos = System.nanoTime();
        readOnlyWhileBounded(ctx);
        CompletableFuture<FullHttpResponse> answer;
        try {
            answer = route(request);
        } catch (BadRequest e) {
            answer = CompletableFuture.completedFuture(error(HttpResponseStatus.BAD_REQUEST, "bad_request", e.getMessage()));
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedFuture(e);
        }
        boolean isWrite = !request.method().equals(HttpMethod.GET) && !request.method().equals(HttpMethod.HEAD);
        boolean head = request.method().equals(HttpMethod.HEAD);
        answer.whenComplete((response, failure) -> {
            FullHttpResponse full = failure == null ? response : fromFailure(failure, isWrite);
            // HEAD: the headers a GET would get (Content-Length included), without the body.
            FullHttpResponse r = head ? withoutBody(full) : full;
            if (ctx.executor().inEventLoop()) {
                complete(ctx, slot, r);
            } else {
                ctx.executor().execute(() -> complete(ctx, slot, r));
            }
        });
    }

    private void complete(ChannelHandlerContext ctx, Pending slot, FullHttpResponse response) {
        slot.response = response;
        boolean wrote = false;
        while (!pending.isEmpty() && pending.peek().response != null) {
            Pending head = pending.poll();
            drain.inFlight.decrementAndGet();
            HttpUtil.setKeepAlive(head.response, head.keepAlive);
            if (head.keepAlive) {
                ctx.write(head.response);
            } else {
                if (head.halfClose) {
                    ctx.writeAndFlush(head.response).addListener((ChannelFutureListener) f -> {
                        if (f.isSuccess() && f.channel() instanceof io.netty.channel.socket.SocketChannel socket) {
                            socket.shutdownOutput();
                        } else {
                            f.channel().close();
                        }
                    });
                } else {
                    ctx.writeAndFlush(head.response).addListener(ChannelFutureListener.CLOSE);
                }
                releaseAll();
                return;
            }
            wrote = true;
        }
        if (wrote) {
            ctx.flush();
        }
        readOnlyWhileBounded(ctx);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        readOnlyWhileBounded(ctx);
        ctx.fireChannelWritabilityChanged();
    }

    /**
     * Reads more requests only while fewer than {@code maxPipelined} await answers and the client
     * is reading what was written: a client that pipelines without reading fills its own socket
     * buffers, not this node's heap.
     */
    private void readOnlyWhileBounded(ChannelHandlerContext ctx) {
        boolean read = pending.size() < maxPipelined && ctx.channel().isWritable();
        if (ctx.channel().config().isAutoRead() != read) {
            ctx.channel().config().setAutoRead(read);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseAll();
    }

    /** Forgets the requests still owed an answer (the connection is closing); event loop only. */
    private void releaseAll() {
        pending.forEach(p -> {
            if (p.response != null) {
                p.response.release();
            }
        });
        drain.inFlight.addAndGet(-pending.size());
        pending.clear();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("HTTP connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    // ---- routing -------------------------------------------------------------------------------

    private CompletableFuture<FullHttpResponse> route(FullHttpRequest request) {
        if (request.decoderResult().isFailure()) {
            throw new BadRequest("malformed HTTP request: " + request.decoderResult().cause().getMessage());
        }
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        String path = uri.rawPath();
        HttpMethod method = request.method().equals(HttpMethod.HEAD) ? HttpMethod.GET : request.method();
        if (path.equals(STATUS_PATH)) {
            if (!method.equals(HttpMethod.GET)) {
                return done(methodNotAllowed("GET, HEAD"));
            }
            return done(json(HttpResponseStatus.OK, statusJson(server.status(), server.configuration())));
        }
        if (path.equals(SNAPSHOT_PATH)) {
            if (!request.method().equals(HttpMethod.POST)) {
                return done(methodNotAllowed("POST"));
            }
            return snapshot();
        }
        if (MembersApi.handles(path)) {
            return members.route(request, path, method);
        }
        CompletableFuture<FullHttpResponse> page = view == null ? null : view.route(path, method);
        if (page != null) {
            return page;
        }
        if (!path.startsWith(KV_PREFIX)) {
            return done(error(HttpResponseStatus.NOT_FOUND, "no_route",
                    "no such resource: " + path + " (try " + KV_PREFIX + "{key}, " + STATUS_PATH + ", " + MembersApi.MEMBERS_PATH
                            + " or POST " + SNAPSHOT_PATH + ")"));
        }
        String key = key(path.substring(KV_PREFIX.length()));
        if (method.equals(HttpMethod.GET)) {
            return get(key, consistency(uri), maxLag(uri));
        } else if (method.equals(HttpMethod.PUT)) {
            // The aggregator (KvHttpServer) has already refused a body over the value limit with 413.
            return write(key, idempotent(request, KvCommand.put(key, request.content().nioBuffer(),
                    conditionOf(request), expectedRevision(request))), false);
        } else if (method.equals(HttpMethod.DELETE)) {
            if (request.headers().contains(HttpHeaderNames.IF_NONE_MATCH)) {
                throw new BadRequest("If-None-Match is not supported on DELETE");
            }
            return write(key, idempotent(request, KvCommand.delete(key, conditionOf(request),
                    expectedRevision(request))), true);
        }
        return done(methodNotAllowed("GET, HEAD, PUT, DELETE"));
    }

    /** How a GET reads: {@code ?consistency=linearizable} (the default), {@code lease} or {@code stale}. */
    enum Consistency {
        LINEARIZABLE, LEASE, STALE
    }

    /** @param maxLag for a stale read, how many committed entries this node may lack; -1 for no bound */
    private CompletableFuture<FullHttpResponse> get(String key, Consistency consistency, long maxLag) {
        if (maxLag >= 0 && consistency != Consistency.STALE) {
            throw new BadRequest("max-lag applies to consistency=stale only");
        }
        byte[] query = KvCommand.get(key);
        CompletableFuture<byte[]> read = switch (consistency) {
            case LINEARIZABLE -> server.read(query);
            case LEASE -> {
                try {
                    yield server.leaseRead(query);
                } catch (IllegalStateException e) {
                    throw new BadRequest("consistency=lease: this node runs without lease reads (serve --lease-reads false)");
                }
            }
            case STALE -> maxLag >= 0 ? server.staleRead(query, maxLag) : server.staleRead(query);
        };
        return read.thenApply(bytes -> {
            Result result = KvCommand.decodeResult(bytes);
            switch (result.outcome()) {
                case OK -> {
                    FullHttpResponse r = response(HttpResponseStatus.OK, Unpooled.wrappedBuffer(result.value()));
                    r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
                    r.headers().set(HttpHeaderNames.ETAG, etag(result.revision()));
                    HttpUtil.setContentLength(r, result.value().length);
                    return r;
                }
                case NOT_FOUND -> {
                    return keyNotFound(key);
                }
                default -> throw new IllegalStateException("unexpected read outcome " + result.outcome());
            }
        });
    }

    /**
     * {@code POST /v1/admin/snapshot}: 200 {@code {"id","snapshotIndex","firstLogIndex"}} once the
     * snapshot is durable; 500 {@code snapshot_failed} if the node takes no snapshots or could not
     * write one (its log says why), 503 if it is stopping. Nothing about the data changes either way.
     */
    private CompletableFuture<FullHttpResponse> snapshot() {
        return server.snapshot().handle((index, failure) -> {
            if (failure == null) {
                RaftStatus s = server.status();
                return json(HttpResponseStatus.OK, "{\"id\":" + Json.quote(s.id()) + ",\"snapshotIndex\":" + index
                        + ",\"firstLogIndex\":" + s.firstLogIndex() + "}");
            }
            Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause() : failure;
            if (cause instanceof ServerClosedException) {
                return retryLater(error(HttpResponseStatus.SERVICE_UNAVAILABLE, "unavailable",
                        "this node is not serving: " + cause.getMessage()));
            }
            log.warn("snapshot asked for over HTTP failed: {}", cause.toString());
            return error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "snapshot_failed",
                    "no snapshot was taken: " + KvMain.describe(cause));
        });
    }

    private CompletableFuture<FullHttpResponse> write(String key, byte[] command, boolean delete) {
        return server.submit(command).thenApply(bytes -> {
            Result result = KvCommand.decodeResult(bytes);
            switch (result.outcome()) {
                case OK -> {
                    if (delete) {
                        FullHttpResponse r = response(HttpResponseStatus.NO_CONTENT, Unpooled.EMPTY_BUFFER);
                        HttpUtil.setContentLength(r, 0);
                        return r;
                    }
                    FullHttpResponse r = json(HttpResponseStatus.OK, "{\"revision\":" + result.revision() + "}");
                    r.headers().set(HttpHeaderNames.ETAG, etag(result.revision()));
                    return r;
                }
                case PRECONDITION_FAILED -> {
                    String current = result.revision() == 0 ? "the key does not exist"
                            : "the key's revision is " + result.revision();
                    FullHttpResponse r = json(HttpResponseStatus.PRECONDITION_FAILED,
                            "{\"error\":\"precondition_failed\",\"message\":" + Json.quote("precondition failed: "
                                    + current) + ",\"revision\":" + result.revision() + "}");
                    if (result.revision() != 0) {
                        r.headers().set(HttpHeaderNames.ETAG, etag(result.revision()));
                    }
                    return r;
                }
                case NOT_FOUND -> {
                    return keyNotFound(key);
                }
                case IDEMPOTENCY_KEY_REUSED -> {
                    return error(HttpResponseStatus.UNPROCESSABLE_ENTITY, "idempotency_key_reused",
                            "this Idempotency-Key was used before for another request; nothing was changed");
                }
                default -> throw new IllegalStateException("the state machine could not decode a command: "
                        + result.outcome());
            }
        });
    }

    // ---- request parsing -----------------------------------------------------------------------

    /** The header of the IETF httpapi draft "The Idempotency-Key HTTP Header Field". */
    static final String IDEMPOTENCY_KEY = "Idempotency-Key";

    /**
     * Wraps a write with the request's {@code Idempotency-Key}, if it has one: a repeat of the same
     * request (same key, same method, path, body and conditions) gets the first answer and changes
     * nothing, on any node, across leader changes; the same key with another request is 422.
     */
    private static byte[] idempotent(FullHttpRequest request, byte[] write) {
        if (!request.headers().contains(IDEMPOTENCY_KEY)) {
            return write; // the usual case, without building a list of values
        }
        List<String> keys = request.headers().getAll(IDEMPOTENCY_KEY);
        if (keys.size() > 1) {
            throw new BadRequest("more than one " + IDEMPOTENCY_KEY + " header");
        }
        String key = keys.get(0);
        int bytes = key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > KvCommand.MAX_IDEMPOTENCY_KEY_BYTES || !key.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) {
            throw new BadRequest(IDEMPOTENCY_KEY + " must be 1 to " + KvCommand.MAX_IDEMPOTENCY_KEY_BYTES
                    + " printable ASCII characters");
        }
        return KvCommand.idempotent(key, write);
    }

    private static String key(String rawKey) {
        if (rawKey.isEmpty()) {
            throw new BadRequest("the key is empty: use " + KV_PREFIX + "{key}");
        }
        String key;
        try {
            key = KeyPath.decode(rawKey);
        } catch (IllegalArgumentException e) {
            throw new BadRequest(e.getMessage());
        }
        int bytes = key.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_KEY_BYTES) {
            throw new BadRequest("the key is " + bytes + " bytes long; the limit is " + MAX_KEY_BYTES);
        }
        return key;
    }

    /** {@code max-lag=N} (entries) for a bounded stale read; -1 when absent. */
    private static long maxLag(QueryStringDecoder uri) {
        List<String> values = uri.parameters().get("max-lag");
        if (values == null || values.isEmpty()) {
            return -1;
        }
        String value = values.get(values.size() - 1);
        try {
            long lag = Long.parseLong(value);
            if (lag >= 0) {
                return lag;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new BadRequest("max-lag must be a number of entries, 0 or more, was '" + value + "'");
    }

    /** {@code ?consistency=}: linearizable (ReadIndex) by default. */
    private static Consistency consistency(QueryStringDecoder uri) {
        List<String> values;
        try {
            values = uri.parameters().get("consistency");
        } catch (IllegalArgumentException e) {
            throw new BadRequest("the query string does not decode: " + e.getMessage());
        }
        if (values == null || values.isEmpty()) {
            return Consistency.LINEARIZABLE;
        }
        String value = values.get(values.size() - 1);
        return switch (value) {
            case "linearizable" -> Consistency.LINEARIZABLE;
            case "lease" -> Consistency.LEASE;
            case "stale" -> Consistency.STALE;
            default -> throw new BadRequest("consistency must be 'linearizable', 'lease' or 'stale', was '" + value + "'");
        };
    }

    private static Condition conditionOf(FullHttpRequest request) {
        String ifMatch = request.headers().get(HttpHeaderNames.IF_MATCH);
        String ifNoneMatch = request.headers().get(HttpHeaderNames.IF_NONE_MATCH);
        if (ifMatch != null && ifNoneMatch != null) {
            throw new BadRequest("send either If-Match or If-None-Match, not both");
        }
        if (ifNoneMatch != null) {
            if (!ifNoneMatch.trim().equals("*")) {
                throw new BadRequest("only If-None-Match: * is supported, got '" + ifNoneMatch + "'");
            }
            return Condition.ABSENT;
        }
        if (ifMatch != null) {
            return ifMatch.trim().equals("*") ? Condition.PRESENT : Condition.REVISION_IS;
        }
        return Condition.NONE;
    }

    private static long expectedRevision(FullHttpRequest request) {
        String ifMatch = request.headers().get(HttpHeaderNames.IF_MATCH);
        if (ifMatch == null || ifMatch.trim().equals("*")) {
            return 0;
        }
        String tag = ifMatch.trim();
        if (tag.length() >= 2 && tag.startsWith("\"") && tag.endsWith("\"")) {
            tag = tag.substring(1, tag.length() - 1);
        }
        try {
            long revision = Long.parseLong(tag);
            if (revision <= 0) {
                throw new NumberFormatException();
            }
            return revision;
        } catch (NumberFormatException e) {
            throw new BadRequest("If-Match must be a revision like \"42\" or *, got '" + ifMatch + "'");
        }
    }

    // ---- responses -----------------------------------------------------------------------------

    /** The status document without {@code memberKinds} and {@code configurationIndex} (no configuration given). */
    static String statusJson(RaftStatus s) {
        return statusJson(s, null);
    }

    /**
     * The status document; with {@code configuration}, also {@code "memberKinds"} (each member's
     * id and kind, voter or learner, learners included) and {@code "configurationIndex"}.
     * {@code "members"} stays what it always was: the ids the status lists.
     */
    static String statusJson(RaftStatus s, org.raftkit.ClusterConfiguration configuration) {
        StringBuilder kinds = new StringBuilder();
        if (configuration != null) {
            kinds.append(",\"memberKinds\":{");
            boolean first = true;
            for (org.raftkit.core.Configuration.Member m : configuration.members()) {
                kinds.append(first ? "" : ",").append(Json.quote(m.id())).append(':')
                        .append(Json.quote(MembersApi.kind(m.kind())));
                first = false;
            }
            kinds.append("},\"configurationIndex\":").append(configuration.index());
        }
        StringBuilder members = new StringBuilder("[");
        for (String m : s.members()) {
            members.append(members.length() > 1 ? "," : "").append(Json.quote(m));
        }
        members.append(']');
        return "{\"id\":" + Json.quote(s.id())
                + ",\"role\":" + Json.quote(s.role().name().toLowerCase(java.util.Locale.ROOT))
                + ",\"term\":" + s.term()
                + ",\"leader\":" + Json.quote(s.leaderId())
                + ",\"commitIndex\":" + s.commitIndex()
                + ",\"appliedIndex\":" + s.appliedIndex()
                + ",\"lastLogIndex\":" + s.lastLogIndex()
                + ",\"firstLogIndex\":" + s.firstLogIndex()
                + ",\"snapshotIndex\":" + s.snapshotIndex()
                // Only while a snapshot from the leader is arriving: how much of it has.
                + (s.snapshotReceivedBytes() > 0 ? ",\"snapshotReceivedBytes\":" + s.snapshotReceivedBytes() : "")
                + ",\"members\":" + members
                + kinds
                + ",\"state\":" + Json.quote(s.state().name().toLowerCase(java.util.Locale.ROOT)) + "}";
    }

    /**
     * Maps a failed Raft call to the status codes of docs/OPERATIONS.md. 503 promises the request had no
     * effect (safe to retry anywhere); 504 says a write may or may not have happened.
     */
    private FullHttpResponse fromFailure(Throwable failure, boolean isWrite) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (cause instanceof BadRequest) {
            return error(HttpResponseStatus.BAD_REQUEST, "bad_request", cause.getMessage());
        }
        if (cause instanceof NotLeaderException notLeader) {
            String hint = notLeader.leaderId() == null ? "" : " (last known leader: " + notLeader.leaderId() + ")";
            return retryLater(error(HttpResponseStatus.SERVICE_UNAVAILABLE, "no_leader",
                    "no leader is available" + hint));
        }
        if (cause instanceof CommandTooLargeException tooLarge) {
            // The HTTP limit is below the command limit, so only a misconfigured node gets here.
            return error(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "value_too_large", tooLarge.getMessage());
        }
        if (cause instanceof org.raftkit.TooFarBehindException) {
            return retryLater(error(HttpResponseStatus.SERVICE_UNAVAILABLE, "too_far_behind", cause.getMessage()));
        }
        if (cause instanceof ServerBusyException) {
            return retryLater(error(HttpResponseStatus.SERVICE_UNAVAILABLE, "busy", cause.getMessage()));
        }
        if (cause instanceof ServerClosedException && isWrite) {
            // The node stopped while the write was pending: it may have been replicated already.
            return error(HttpResponseStatus.GATEWAY_TIMEOUT, "timeout",
                    "this node stopped before the write completed; the outcome is unknown: " + cause.getMessage());
        }
        if (cause instanceof ServerClosedException) {
            return retryLater(error(HttpResponseStatus.SERVICE_UNAVAILABLE, "unavailable",
                    "this node is not serving: " + cause.getMessage()));
        }
        if (cause instanceof UnknownOutcomeException) {
            return error(HttpResponseStatus.GATEWAY_TIMEOUT, "timeout",
                    "timed out; the outcome is unknown (a write may or may not have happened): " + cause.getMessage());
        }
        if (cause instanceof StateMachineException) {
            return error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "state_machine", cause.getMessage());
        }
        log.warn("request failed unexpectedly", cause);
        return error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal", String.valueOf(cause));
    }

    private static FullHttpResponse withoutBody(FullHttpResponse r) {
        FullHttpResponse empty = r.replace(Unpooled.EMPTY_BUFFER);
        r.release();
        return empty;
    }

    private static FullHttpResponse retryLater(FullHttpResponse r) {
        r.headers().set(HttpHeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS);
        return r;
    }

    static FullHttpResponse valueTooLarge(int maxValueBytes) {
        return error(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "value_too_large",
                "the value is larger than the limit of " + maxValueBytes + " bytes");
    }

    private static FullHttpResponse keyNotFound(String key) {
        return error(HttpResponseStatus.NOT_FOUND, "not_found", "key " + Json.quote(key) + " not found");
    }

    static FullHttpResponse methodNotAllowed(String allowed) {
        FullHttpResponse r = error(HttpResponseStatus.METHOD_NOT_ALLOWED, "method_not_allowed",
                "allowed methods: " + allowed);
        r.headers().set(HttpHeaderNames.ALLOW, allowed);
        return r;
    }

    private static String etag(long revision) {
        return "\"" + revision + "\"";
    }

    static FullHttpResponse error(HttpResponseStatus status, String code, String message) {
        return json(status, Json.error(code, message));
    }

    static FullHttpResponse json(HttpResponseStatus status, String body) {
        FullHttpResponse r = response(status, Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        HttpUtil.setContentLength(r, r.content().readableBytes());
        return r;
    }

    /**
     * A response without trailing headers: an answer with a Content-Length never sends any, and
     * the map Netty would make for them was one of the four header maps every write allocated on
     * the leader (docs/BENCHMARKS.md, "Allocation on the leader's HTTP path").
     */
    static FullHttpResponse response(HttpResponseStatus status, io.netty.buffer.ByteBuf content) {
        return new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content, new DefaultHttpHeaders(),
                EmptyHttpHeaders.INSTANCE);
    }

    private static CompletableFuture<FullHttpResponse> done(FullHttpResponse r) {
        return CompletableFuture.completedFuture(r);
    }

    /** A request this API cannot accept; answered 400 with the message. */
    private static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message, null, false, false);
        }
    }
}
