package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;

import org.junit.jupiter.api.Test;

/** The frame decoder alone, on an {@link EmbeddedChannel}: splitting, and refusing bad lengths before sizing anything. */
class FrameDecoderTest {

    private static final int MAX_FRAME_BYTES = 1024;

    /** Remembers the largest buffer anyone asked it for (also used by {@link FrameDecoderFuzzTest}). */
    static final class MeasuringAllocator extends AbstractByteBufAllocator {
        int largestRequestBytes;

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            largestRequestBytes = Math.max(largestRequestBytes, initialCapacity);
            return UnpooledByteBufAllocator.DEFAULT.heapBuffer(initialCapacity, maxCapacity);
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            largestRequestBytes = Math.max(largestRequestBytes, initialCapacity);
            return UnpooledByteBufAllocator.DEFAULT.directBuffer(initialCapacity, maxCapacity);
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }
    }

    @Test
    void aTwoGibibyteLengthPrefixIsRefusedAsSoonAsItArrivesWithoutSizingABufferForIt() {
        MeasuringAllocator allocator = new MeasuringAllocator();
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(allocator);
        ch.pipeline().addLast(handshaken(MAX_FRAME_BYTES));

        // The prefix arrives in two pieces, so the decoder has to accumulate (and allocate) to read it.
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x7F, (byte) 0xFF}));
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0xFF, (byte) 0xFF, 1, 2})))
                .isInstanceOf(DecoderException.class)
                .cause().isInstanceOfSatisfying(WireFormatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(RejectReason.FRAME_TOO_LARGE);
                    assertThat(e.getMessage()).contains("2147483647");
                });
        assertThat(allocator.largestRequestBytes).as("bytes the decoder asked for").isLessThan(MAX_FRAME_BYTES);

        // Whatever follows is discarded without another report.
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[100]));
        Object nothing = ch.readInbound();
        assertThat(nothing).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void aNegativeLengthIsRefused() {
        EmbeddedChannel ch = new EmbeddedChannel(handshaken(MAX_FRAME_BYTES));
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0x80, 0, 0, 0})))
                .cause().isInstanceOfSatisfying(WireFormatException.class,
                        e -> assertThat(e.reason()).isEqualTo(RejectReason.FRAME_TOO_LARGE));
        ch.finishAndReleaseAll();
    }

    @Test
    void framesSplitAndJoinedArbitrarilyComeOutWhole() {
        EmbeddedChannel ch = new EmbeddedChannel(handshaken(MAX_FRAME_BYTES));
        ByteBuf stream = Unpooled.buffer();
        stream.writeInt(3).writeBytes(new byte[] {1, 2, 3});
        stream.writeInt(0); // an empty body is a frame too
        stream.writeInt(MAX_FRAME_BYTES).writeBytes(new byte[MAX_FRAME_BYTES]);
        while (stream.isReadable()) {
            ch.writeInbound(stream.readRetainedSlice(Math.min(5, stream.readableBytes())));
        }
        stream.release();

        assertBody(ch.readInbound(), 3);
        assertBody(ch.readInbound(), 0);
        assertBody(ch.readInbound(), MAX_FRAME_BYTES);
        Object nothing = ch.readInbound();
        assertThat(nothing).isNull();
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void aConnectionEndingInsideAFrameIsReportedAsTruncated() {
        EmbeddedChannel ch = new EmbeddedChannel(handshaken(MAX_FRAME_BYTES));
        ch.writeInbound(Unpooled.buffer().writeInt(100).writeBytes(new byte[10]));
        assertThatThrownBy(ch::finish)
                .cause().isInstanceOfSatisfying(WireFormatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(RejectReason.TRUNCATED_FRAME);
                    assertThat(e.getMessage()).contains("14 bytes");
                });
    }

    @Test
    void beforeTheHandshakeAFrameAboveFourKibibytesIsRefusedOnItsPrefix() {
        FrameDecoder decoder = new FrameDecoder(64 << 20, unlimited());
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.buffer().writeInt(Handshake.MAX_HANDSHAKE_FRAME_BYTES + 1)))
                .cause().isInstanceOfSatisfying(WireFormatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(RejectReason.FRAME_TOO_LARGE);
                    assertThat(e.getMessage()).contains("before the handshake");
                });
        ch.finishAndReleaseAll();
    }

    @Test
    void bytesHeldByAllDecodersTogetherAreCappedAndGivenBackWhenAConnectionEnds() {
        InboundLimits limits = new InboundLimits(8, 2500);
        EmbeddedChannel first = new EmbeddedChannel(handshaken(MAX_FRAME_BYTES, limits));
        EmbeddedChannel second = new EmbeddedChannel(handshaken(MAX_FRAME_BYTES, limits));
        EmbeddedChannel third = new EmbeddedChannel(handshaken(MAX_FRAME_BYTES, limits));
        // Each holds part of a frame, waiting for the rest: 2 × 1004 bytes of 2500.
        first.writeInbound(Unpooled.buffer().writeInt(MAX_FRAME_BYTES).writeBytes(new byte[1000]));
        second.writeInbound(Unpooled.buffer().writeInt(MAX_FRAME_BYTES).writeBytes(new byte[1000]));
        assertThat(limits.bufferedBytes()).isEqualTo(2 * 1004);
        assertThatThrownBy(() -> third.writeInbound(Unpooled.buffer().writeInt(MAX_FRAME_BYTES)
                .writeBytes(new byte[1000])))
                .cause().isInstanceOfSatisfying(WireFormatException.class,
                        e -> assertThat(e.reason()).isEqualTo(RejectReason.INBOUND_MEMORY_FULL));
        assertThat(limits.bufferedBytes()).isEqualTo(2 * 1004);
        first.close();
        second.close();
        third.close();
        assertThat(limits.bufferedBytes()).as("given back as the connections end").isZero();
    }

    static FrameDecoder handshaken(int maxFrameBytes) {
        return handshaken(maxFrameBytes, unlimited());
    }

    private static FrameDecoder handshaken(int maxFrameBytes, InboundLimits limits) {
        FrameDecoder d = new FrameDecoder(maxFrameBytes, limits);
        d.handshakeDone();
        return d;
    }

    private static InboundLimits unlimited() {
        return new InboundLimits(Integer.MAX_VALUE, Long.MAX_VALUE);
    }

    private static void assertBody(ByteBuf body, int length) {
        assertThat(body).isNotNull();
        assertThat(body.readableBytes()).isEqualTo(length);
        body.release();
    }
}
