package org.raftkit.transport.netty;

import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

/**
 * Splits a connection's byte stream into frame bodies (see {@link Frames}), each passed on as a
 * retained slice of the inbound buffer (no copy).
 *
 * <p>The length prefix is checked against {@code maxFrameBytes} as soon as its 4 bytes arrive,
 * before anything is sized for the frame: the decoder only ever holds bytes that actually
 * arrived, so a peer claiming a 2 GiB frame costs this node 4 bytes, not 2 GiB. A bad prefix, or
 * a connection that ends inside a frame, is reported as a {@link WireFormatException} (wrapped by
 * Netty in a {@code DecoderException}) for the connection's handler to reject; after that the
 * decoder discards everything, so the rejection is reported once.
 *
 * <p>One instance per connection; runs on the connection's event loop.
 */
final class FrameDecoder extends ByteToMessageDecoder {

    private final int maxFrameBytes;
    private boolean failed;

    FrameDecoder(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws WireFormatException {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (in.readableBytes() < Frames.LENGTH_PREFIX_BYTES) {
            return;
        }
        int length = in.getInt(in.readerIndex());
        if (length < 0 || length > maxFrameBytes) {
            failed = true;
            in.skipBytes(in.readableBytes());
            throw new WireFormatException(RejectReason.FRAME_TOO_LARGE, "length prefix "
                    + Integer.toUnsignedString(length) + " exceeds maxFrameBytes " + maxFrameBytes);
        }
        if (in.readableBytes() < Frames.LENGTH_PREFIX_BYTES + length) {
            return;
        }
        in.skipBytes(Frames.LENGTH_PREFIX_BYTES);
        out.add(in.readRetainedSlice(length));
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        decode(ctx, in, out);
        if (!failed && in.isReadable()) {
            int held = in.readableBytes();
            failed = true;
            in.skipBytes(held);
            throw new WireFormatException(RejectReason.TRUNCATED_FRAME,
                    "connection ended " + held + " bytes into a frame");
        }
    }
}
