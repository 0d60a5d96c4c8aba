package org.raftkit.examples.kv;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpObjectDecoder;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.DefaultThreadFactory;


import org.raftkit.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KV store's HTTP API (docs/OPERATIONS.md) on Netty's HTTP codec, over plain HTTP or HTTPS
 * ({@link HttpTls}). Every node serves every request:
 * writes and linearizable reads go through {@link RaftServer}, which forwards a follower's to the
 * leader. Threads: {@code kv-http-*} event loops; requests never block them.
 */
public final class KvHttpServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(KvHttpServer.class);

    /** Largest request head (request line and headers) accepted, in bytes. */
    static final int MAX_HEAD_BYTES = 16 * 1024;

    /** Most flushes merged into one before a write goes out anyway, so that answers never wait long. */
    static final int MAX_FLUSHES_CONSOLIDATED = 256;

    private final EventLoopGroup group;
    private final Channel channel;

    private final KvHttpHandler.Drain drain;

    private KvHttpServer(EventLoopGroup group, Channel channel, KvHttpHandler.Drain drain) {
        this.drain = drain;
        this.group = group;
        this.channel = channel;
    }

    /**
     * Binds {@code address} and serves the API for {@code server}.
     *
     * @param maxValueBytes a PUT body larger than this is answered 413 before it reaches the log
     * @throws IllegalStateException naming the address if it cannot be bound
     */
    public static KvHttpServer start(RaftServer server, InetSocketAddress address, int maxValueBytes) {
        return start(server, address, maxValueBytes, null);
    }

    /**
     * Like {@link #start(RaftServer, InetSocketAddress, int)}, also serving {@code view}'s pages
     * ({@code /}, {@code /v1/cluster}, {@code /metrics}) when it is not null.
     */
    static KvHttpServer start(RaftServer server, InetSocketAddress address, int maxValueBytes, ClusterView view) {
        return start(server, address, maxValueBytes, view, HttpLimits.DEFAULTS);
    }

    /** As above, with {@code limits} on what each client may hold. */
    static KvHttpServer start(RaftServer server, InetSocketAddress address, int maxValueBytes, ClusterView view,
                              HttpLimits limits) {
        return start(server, address, maxValueBytes, view, limits, null);
    }

    /**
     * As above, serving HTTPS with {@code https} ({@link HttpTls#serverContext()}), or plain HTTP
     * when it is null. On an HTTPS port a client that speaks plain HTTP gets a plain 400 saying
     * to use https, then the connection is closed.
     */
    static KvHttpServer start(RaftServer server, InetSocketAddress address, int maxValueBytes, ClusterView view,
                              HttpLimits limits, SslContext https) {
        return start(server, address, maxValueBytes, view, limits, https, java.util.Map.of());
    }

    /**
     * As above; {@code raftPeers} (the node's {@code --peers}) gives {@code /v1/members} the Raft
     * address of members that the configuration names by id alone.
     */
    static KvHttpServer start(RaftServer server, InetSocketAddress address, int maxValueBytes, ClusterView view,
                              HttpLimits limits, SslContext https, java.util.Map<String, InetSocketAddress> raftPeers) {
        java.util.Map<String, String> configured = new java.util.HashMap<>();
        raftPeers.forEach((id, a) -> configured.put(id, a.getHostString() + ":" + a.getPort()));
        MembersApi members = new MembersApi(server, configured, KvHttpHandler.MEMBER_CATCH_UP_MILLIS);
        HttpGuard.ConnectionCap cap = new HttpGuard.ConnectionCap(limits.maxConnections());
        KvHttpHandler.Drain drain = new KvHttpHandler.Drain();
        EventLoopGroup group = new NioEventLoopGroup(2, new DefaultThreadFactory("kv-http-" + server.id(), true));
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                // Past the high mark a connection is not writable, and its handler stops reading
                // requests whose answers the client is not reading.
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 << 10, 1 << 20))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(cap);
                        if (https != null) {
                            // HttpGuard's request timer, below, also bounds a slow TLS handshake.
                            ch.pipeline().addLast(new HttpsOnly(https));
                        }
                        ch.pipeline()
                                // Answers complete one by one on the apply thread, each in a task of its
                                // own on this loop: one write system call for each. Flushing once after the
                                // tasks queued now makes it one for many (up to 256) pipelined answers.
                                .addLast(new FlushConsolidationHandler(MAX_FLUSHES_CONSOLIDATED, true))
                                .addLast(new HttpServerCodec(4096, MAX_HEAD_BYTES, 8192))
                                .addLast(new HttpGuard(limits))
                                .addLast(new ValueSizeLimit(maxValueBytes))
                                .addLast(new KvHttpHandler(server, view, limits.maxPipelined(), members, drain));
                    }
                });
        try {
            Channel channel = bootstrap.bind(address).syncUninterruptibly().channel();
            String scheme = https == null ? "http" : "https";
            log.info("{} serves {} on {}://{}:{}", server.id(), scheme.toUpperCase(java.util.Locale.ROOT), scheme,
                    address.getHostString(), ((InetSocketAddress) channel.localAddress()).getPort());
            return new KvHttpServer(group, channel, drain);
        } catch (Exception e) { // Netty rethrows the checked BindException undeclared
            group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.MILLISECONDS);
            throw new IllegalStateException("cannot bind the HTTP address " + address.getHostString() + ":"
                    + address.getPort() + ": " + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()), e);
        }
    }

    /** The address actually bound (its port is the real one when asked for port 0). */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** How long a connection must have been silent before a drain may close it under a client. */
    static final long DRAIN_QUIET_MILLIS = 100;

    /**
     * The first half of a graceful stop: stops accepting connections, makes every answer from now
     * on close its connection (so clients go to another node), and waits until every request
     * already read is answered and every connection is closed or has been silent for
     * {@link #DRAIN_QUIET_MILLIS}, or {@code timeoutMillis} passed. Then {@link #close}.
     *
     * <p>Why not only the requests read: a client that got its answer just before the drain began
     * (without "Connection: close") sends its next request on the same connection at once; until
     * that request is read it counts nowhere, and closing then loses it with the client unable to
     * tell whether it was applied (KvMembershipTest, all eight clients of a graceful stop, in CI).
     *
     * @return whether every request was answered in time
     */
    public boolean drain(long timeoutMillis) {
        drain.draining = true;
        channel.close().syncUninterruptibly();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        long quietNanos = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(DRAIN_QUIET_MILLIS);
        while (drain.inFlight.get() > 0
                || (drain.connections.get() > 0 && System.nanoTime() - drain.lastReadNanos < quietNanos)) {
            if (System.nanoTime() >= deadline) {
                return false;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(5));
        }
        return true;
    }

    /** Requests read and not yet answered, over every connection. */
    int inFlight() {
        return drain.inFlight.get();
    }

    /** Stops accepting and closes every connection; waits for the event loops to end. */
    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * First on an HTTPS connection: looks at the first bytes the client sends. A TLS record puts
     * the TLS handler in its place, which then sees those bytes too. Anything else is a client
     * speaking plain HTTP to the HTTPS port (an http:// URL): rather than leave it to fail on a
     * closed connection, it gets a plain-text 400 that says to use https, and the connection is
     * closed. Event loop only.
     */
    static final class HttpsOnly extends ByteToMessageDecoder {

        /** What a plain-HTTP client is told, as the API's JSON error. */
        static final String MESSAGE = "this port serves HTTPS: use an https:// URL";

        /** Bytes of a TLS record header, which is what {@link SslHandler#isEncrypted} looks at. */
        private static final int RECORD_HEADER_BYTES = 5;

        private final SslContext context;

        HttpsOnly(SslContext context) {
            this.context = context;
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            if (in.readableBytes() < RECORD_HEADER_BYTES) {
                return;
            }
            if (SslHandler.isEncrypted(in, false)) {
                // Removing this decoder hands the bytes it holds to the TLS handler.
                ctx.pipeline().replace(this, "tls", context.newHandler(ctx.alloc()));
                return;
            }
            in.skipBytes(in.readableBytes());
            byte[] body = Json.error("bad_request", MESSAGE).getBytes(StandardCharsets.UTF_8);
            String head = "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: "
                    + body.length + "\r\nconnection: close\r\n\r\n";
            ByteBuf response = Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.US_ASCII), body);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * Collects a request's body, answering 413 (as a JSON error) as soon as its declared or actual
     * length passes the value limit, so an oversized value never reaches the log or fills memory.
     */
    static final class ValueSizeLimit extends HttpObjectAggregator {

        ValueSizeLimit(int maxValueBytes) {
            super(maxValueBytes);
        }

        /**
         * A client that sends {@code Expect: 100-continue} with a Content-Length over the limit (curl
         * does for large bodies) gets the same JSON 413 as any other, not the codec's empty one.
         */
        @Override
        protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
            if (HttpUtil.is100ContinueExpected(start) && HttpUtil.getContentLength(start, -1L) > maxContentLength) {
                start.headers().remove(HttpHeaderNames.EXPECT);
                return KvHttpHandler.valueTooLarge(maxContentLength);
            }
            return super.newContinueResponse(start, maxContentLength, pipeline);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            FullHttpResponse response = KvHttpHandler.valueTooLarge(maxContentLength());
            if (HttpUtil.is100ContinueExpected(oversized)) {
                // The client waits for "100 Continue" before sending the body, so it never will:
                // the connection stays usable and the decoder starts afresh on the next request.
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
                HttpObjectDecoder decoder = ctx.pipeline().get(HttpObjectDecoder.class);
                if (decoder != null) {
                    decoder.reset();
                }
                return;
            }
            // The client is sending the body. Closing at once would reset the connection before it
            // reads the answer, so the handler answers in this request's turn and then stops
            // writing, and the aggregator discards the rest until the client closes its side.
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            HttpGuard.discarding(ctx);
            ctx.fireUserEventTriggered(new KvHttpHandler.Oversized(response));
        }
    }
}
