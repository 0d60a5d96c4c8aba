package org.raftkit.transport.netty;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.MessageToByteEncoder;
import io.netty.handler.timeout.IdleStateHandler;

import org.raftkit.transport.netty.wire.Envelope;

/**
 * The frame layout: a 4-byte big-endian body length, then the body, one protobuf {@link Envelope}.
 * {@link FrameDecoder} splits the inbound stream; {@link Encoder} writes outbound envelopes;
 * {@link #parse} reads a body.
 */
final class Frames {

    /** Bytes of the length prefix. */
    static final int LENGTH_PREFIX_BYTES = 4;

    private Frames() {
    }

    /**
     * Adds the handlers every connection has, either side, after TLS if any: frames in, envelopes
     * out, and the idle timer (whose events the connection's own handler, added next, acts on).
     *
     * <p>The idle timer sits after the frame decoder on purpose: it hears of a read only when a
     * whole frame arrived, so a peer that trickles a frame a byte at a time, or sends most of one
     * and stops, is closed at {@code idleTimeoutMillis} however often its bytes arrive. Before the
     * decoder, every byte would restart the timer.
     */
    static ChannelPipeline addFraming(ChannelPipeline p, NettyTransportConfig config, InboundLimits limits) {
        return p.addLast("frames", new FrameDecoder(config.maxFrameBytes(), limits))
                .addLast("envelopes", Encoder.INSTANCE)
                .addLast("idle", new IdleStateHandler(config.idleTimeoutMillis(), 0, 0, TimeUnit.MILLISECONDS));
    }

    /**
     * Parses one frame body. Payload fields alias {@code body} (protobuf's aliasing mode), so the
     * envelope is valid only until {@code body} is released; {@link MessageCodec#decode} copies
     * what it keeps.
     *
     * @throws WireFormatException ({@link RejectReason#MALFORMED_FRAME}) if the body is not an envelope
     */
    static Envelope parse(ByteBuf body) throws WireFormatException {
        try {
            CodedInputStream in = body.nioBufferCount() == 1
                    ? CodedInputStream.newInstance(body.nioBuffer())
                    : CodedInputStream.newInstance(ByteBufUtil.getBytes(body));
            in.enableAliasing(true);
            return Envelope.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw new WireFormatException(RejectReason.MALFORMED_FRAME, "not an envelope: " + e.getMessage());
        } catch (IOException e) {
            // parseFrom(CodedInputStream) declares IOException; from an in-memory buffer it means bad input too.
            throw new WireFormatException(RejectReason.MALFORMED_FRAME, "not an envelope: " + e);
        }
    }

    /**
     * Writes each outbound {@link Envelope} as one frame into a buffer of exactly its size, so the
     * payloads it wraps are copied once, straight into the buffer the socket writes from.
     * Stateless, so one instance serves every pipeline.
     */
    @ChannelHandler.Sharable
    static final class Encoder extends MessageToByteEncoder<Envelope> {

        static final Encoder INSTANCE = new Encoder();

        private Encoder() {
            super(Envelope.class);
        }

        @Override
        protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, Envelope msg, boolean preferDirect) {
            return ctx.alloc().ioBuffer(LENGTH_PREFIX_BYTES + msg.getSerializedSize());
        }

        @Override
        protected void encode(ChannelHandlerContext ctx, Envelope msg, ByteBuf out) throws IOException {
            int size = msg.getSerializedSize(); // computed once by allocateBuffer and memoized
            out.writeInt(size);
            ByteBuffer target = out.nioBuffer(out.writerIndex(), size);
            CodedOutputStream coded = CodedOutputStream.newInstance(target);
            msg.writeTo(coded);
            coded.flush();
            coded.checkNoSpaceLeft();
            out.writerIndex(out.writerIndex() + size);
        }
    }
}
