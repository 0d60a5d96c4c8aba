package org.raftkit.transport.netty;

import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

/**
 * Splits a connection's byte stream into frame bodies (see {@link Frames}), each passed on as a
 * retained slice of the inbound buffer (no copy).
 *
 * <p>The length prefix is checked as soon as its 4 bytes arrive, before anything is sized for the
 * frame, against {@link Handshake#MAX_HANDSHAKE_FRAME_BYTES} until the connection's handler calls
 * {@link #handshakeDone()}, and against {@code maxFrameBytes} after. The decoder only ever holds
 * bytes that actually arrived, so a peer claiming a 2 GiB frame costs this node 4 bytes, and a
 * peer that has not completed the handshake at most 4 KiB. What it holds is also charged to the
 * transport's {@link InboundLimits}; a read that would take the whole transport above its limit
 * fails the connection ({@link RejectReason#INBOUND_MEMORY_FULL}).
 *
 * <p>A bad prefix, a connection that ends inside a frame, or the limit: reported as a
 * {@link WireFormatException} (wrapped by Netty in a {@code DecoderException}) for the
 * connection's handler to reject; after that the decoder discards everything, so the rejection is
 * reported once.
 *
 * <p>One instance per connection; runs on the connection's event loop.
 */
final class FrameDecoder extends ByteToMessageDecoder {

    private final int maxFrameBytes;
    private final InboundLimits limits;
    /** The largest frame accepted now: small until the handshake succeeds. */
    private int limit = Handshake.MAX_HANDSHAKE_FRAME_BYTES;
    /** Bytes this decoder holds and has charged to {@link #limits}. */
    private long charged;
    private boolean failed;

    FrameDecoder(int maxFrameBytes, InboundLimits limits) {
        this.maxFrameBytes = maxFrameBytes;
        this.limits = limits;
    }

    /** The handshake succeeded: frames up to {@code maxFrameBytes} are accepted from now on. */
    void handshakeDone() {
        limit = maxFrameBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws WireFormatException {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        try {
            decodeOne(in, out);
        } finally {
            charge(in);
        }
    }

    private void decodeOne(ByteBuf in, List<Object> out) throws WireFormatException {
        if (in.readableBytes() < Frames.LENGTH_PREFIX_BYTES) {
            return;
        }
        int length = in.getInt(in.readerIndex());
        if (length < 0 || length > limit) {
            failed = true;
            in.skipBytes(in.readableBytes());
            throw new WireFormatException(RejectReason.FRAME_TOO_LARGE, "length prefix "
                    + Integer.toUnsignedString(length) + " exceeds " + (limit == maxFrameBytes ? "maxFrameBytes "
                    : "the limit before the handshake, ") + limit);
        }
        if (in.readableBytes() < Frames.LENGTH_PREFIX_BYTES + length) {
            return;
        }
        in.skipBytes(Frames.LENGTH_PREFIX_BYTES);
        out.add(in.readRetainedSlice(length));
    }

    /** Charges what {@code in} still holds to the shared limit, or fails the connection. */
    private void charge(ByteBuf in) throws WireFormatException {
        long held = in.readableBytes();
        if (limits.tryBuffer(held - charged)) {
            charged = held;
            return;
        }
        failed = true;
        in.skipBytes(in.readableBytes());
        limits.tryBuffer(-charged);
        charged = 0;
        throw new WireFormatException(RejectReason.INBOUND_MEMORY_FULL, "holding " + held
                + " more bytes would put this node's connections above maxInboundBufferedBytes");
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        limits.tryBuffer(-charged);
        charged = 0;
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        decode(ctx, in, out);
        if (!failed && in.isReadable()) {
            int held = in.readableBytes();
            failed = true;
            in.skipBytes(held);
            charge(in);
            throw new WireFormatException(RejectReason.TRUNCATED_FRAME,
                    "connection ended " + held + " bytes into a frame");
        }
    }
}
