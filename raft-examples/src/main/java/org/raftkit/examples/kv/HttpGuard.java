package org.raftkit.examples.kv;

import java.util.Locale;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import org.raftkit.log.RateLimitedLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's guard, between the HTTP codec and the body aggregator: enforces
 * {@link HttpLimits#requestTimeoutMillis()} (idle and slowloris), refuses any Transfer-Encoding
 * but {@code chunked}, and bounds what is discarded after a 413. Event loop only.
 *
 * <p>A request with another Transfer-Encoding ({@code xchunked}, {@code gzip, chunked}, …) cannot
 * be framed safely: its body could be parsed as further requests. It is marked as a decoding
 * failure (answered 400 and the connection closed), and nothing read after it on this connection
 * reaches the API.
 */
final class HttpGuard extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(HttpGuard.class);

    private final HttpLimits limits;
    /**
     * The one timer of this connection, or null before it opens. It is not moved for each request:
     * a request only pushes {@link #deadlineNanos} forward, and the timer, when it fires early,
     * sleeps again for what is left. Scheduling and cancelling a task for every request cost more
     * than the rest of this handler under pipelined load.
     */
    private ScheduledFuture<?> timer;
    /** When the connection's next whole request is due ({@code System.nanoTime()}). */
    private long deadlineNanos;
    /** After a refused Transfer-Encoding: drop everything else this connection sends. */
    private boolean poisoned;
    /** After a 413: body bytes still allowed before the connection is closed, or -1 when not discarding. */
    private long discardLeft = -1;

    HttpGuard(HttpLimits limits) {
        this.limits = limits;
    }

    /** Called by the aggregator when it answered 413 and will discard the rest of the body. */
    static void discarding(ChannelHandlerContext anyInPipeline) {
        HttpGuard guard = anyInPipeline.pipeline().get(HttpGuard.class);
        if (guard != null) {
            guard.discardLeft = guard.limits.maxDiscardBytes();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        arm(ctx);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (poisoned) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest request && !transferEncodingIsChunkedOrAbsent(request)) {
            poisoned = true;
            request.setDecoderResult(DecoderResult.failure(new IllegalArgumentException(
                    "Transfer-Encoding '" + shorten(request.headers().get(HttpHeaderNames.TRANSFER_ENCODING))
                            + "' is not supported; only 'chunked' is")));
            ctx.fireChannelRead(msg); // the aggregator passes a failed request on at once: answered 400
            return;
        }
        if (discardLeft >= 0 && msg instanceof HttpContent content) {
            discardLeft -= content.content().readableBytes();
            if (discardLeft < 0) {
                log.debug("closing HTTP connection from {}: body still coming after its 413", ctx.channel().remoteAddress());
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
        }
        if (msg instanceof LastHttpContent) {
            discardLeft = -1;
            arm(ctx); // the next request has its own time
        }
        ctx.fireChannelRead(msg);
    }

    /** (Re)starts the time the connection has to deliver its next whole request. */
    private void arm(ChannelHandlerContext ctx) {
        long timeoutNanos = TimeUnit.MILLISECONDS.toNanos(limits.requestTimeoutMillis());
        deadlineNanos = System.nanoTime() + timeoutNanos;
        if (timer == null) {
            timer = ctx.executor().schedule(() -> expire(ctx), timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** The timer fired: close the connection if its request is overdue, else wait for what is left. */
    private void expire(ChannelHandlerContext ctx) {
        long left = deadlineNanos - System.nanoTime();
        if (left > 0) {
            timer = ctx.executor().schedule(() -> expire(ctx), left, TimeUnit.NANOSECONDS);
            return;
        }
        log.debug("closing HTTP connection from {}: no whole request within {} ms", ctx.channel().remoteAddress(),
                limits.requestTimeoutMillis());
        ctx.close();
    }

    private static boolean transferEncodingIsChunkedOrAbsent(HttpRequest request) {
        if (!request.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            return true; // the usual case, without building a list of values
        }
        var values = request.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
        return values.isEmpty() || (values.size() == 1 && values.get(0).trim().toLowerCase(Locale.ROOT).equals("chunked"));
    }

    private static String shorten(String s) {
        String v = String.valueOf(s).replaceAll("[^\\x20-\\x7e]", "?");
        return v.length() > 40 ? v.substring(0, 40) + "…" : v;
    }

    /** Closes connections accepted beyond {@link HttpLimits#maxConnections()}; shared by every connection. */
    @ChannelHandler.Sharable
    static final class ConnectionCap extends ChannelInboundHandlerAdapter {
        private final int max;
        private final AtomicInteger open = new AtomicInteger();
        private final RateLimitedLog refusals = new RateLimitedLog(log, 10_000);

        ConnectionCap(int max) {
            this.max = max;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (open.incrementAndGet() > max) {
                refusals.warn("refused HTTP connections beyond the cap of " + max);
                ctx.close();
                return;
            }
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            open.decrementAndGet();
            ctx.fireChannelInactive();
        }
    }
}
