package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.code_intelligence.jazzer.junit.FuzzTest;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;

/**
 * Fuzz target (docs/TESTING.md, "Fuzzing"): arbitrary bytes, arriving in pieces of an arbitrary
 * size, into the {@link FrameDecoder} on an {@link EmbeddedChannel}. For every input it asserts
 * that the decoder
 * <ul>
 *   <li>passes on exactly the frame bodies a reference reading of the stream finds (4-byte
 *       big-endian length, then that many bytes), in order and byte for byte;</li>
 *   <li>fails only with the documented rejection, a {@link WireFormatException} wrapped in Netty's
 *       {@link DecoderException}: {@link RejectReason#FRAME_TOO_LARGE} as soon as a prefix above
 *       the connection's limit (or with its top bit set) has arrived,
 *       {@link RejectReason#TRUNCATED_FRAME} when the stream ends inside a frame; nothing else,
 *       and at most once;</li>
 *   <li>never asks for a buffer larger than twice the bytes that actually arrived (Netty's
 *       cumulation grows by powers of two), whatever length a prefix claims.</li>
 * </ul>
 * The first input byte sets the size of the pieces (1 to 128 bytes) and, with its top bit, whether
 * the connection is still in its handshake (frames up to {@link Handshake#MAX_HANDSHAKE_FRAME_BYTES})
 * or past it ({@code maxFrameBytes}, here 1 KiB); the rest is the stream. The seeds in
 * {@code src/test/resources/org/raftkit/transport/netty/FrameDecoderFuzzTestInputs/} (real frames,
 * an empty frame, a 2 GiB prefix, a cut frame) are replayed by every build.
 */
class FrameDecoderFuzzTest {

    private static final int MAX_FRAME_BYTES = 1024;
    /** The smallest buffer Netty's allocator sizes when cumulating, whatever arrived. */
    private static final int SMALLEST_CUMULATION_BYTES = 64;

    @FuzzTest(maxDuration = "5m")
    void arbitraryBytesComeOutAsTheirFramesOrAreRefusedOnce(byte[] input) {
        if (input.length == 0) {
            return;
        }
        int pieceBytes = 1 + (input[0] & 0x7F);
        boolean handshaken = (input[0] & 0x80) == 0;
        byte[] stream = Arrays.copyOfRange(input, 1, input.length);
        Expected expected = Expected.read(stream, handshaken ? MAX_FRAME_BYTES : Handshake.MAX_HANDSHAKE_FRAME_BYTES);

        FrameDecoderTest.MeasuringAllocator allocator = new FrameDecoderTest.MeasuringAllocator();
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(allocator);
        ch.pipeline().addLast(handshaken ? FrameDecoderTest.handshaken(MAX_FRAME_BYTES)
                : new FrameDecoder(MAX_FRAME_BYTES, new InboundLimits(Integer.MAX_VALUE, Long.MAX_VALUE)));

        List<byte[]> bodies = new ArrayList<>();
        List<RejectReason> rejections = new ArrayList<>();
        int arrived = 0;
        for (int at = 0; at < stream.length; at += pieceBytes) {
            int end = Math.min(stream.length, at + pieceBytes);
            arrived += end - at;
            try {
                ch.writeInbound(Unpooled.wrappedBuffer(stream, at, end - at));
            } catch (DecoderException e) {
                rejections.add(reasonOf(e));
                assertThat(rejections).as("rejections").hasSize(1);
                assertThat(at).as("bytes arrived before the piece that completed the bad prefix")
                        .isLessThan(expected.refusedAfterBytes);
                assertThat(arrived).as("bytes arrived when the prefix was refused")
                        .isGreaterThanOrEqualTo(expected.refusedAfterBytes);
            }
            drainBodies(ch, bodies);
            assertThat(allocator.largestRequestBytes).as("largest buffer asked for, after %s bytes arrived", arrived)
                    .isLessThanOrEqualTo(Math.max(SMALLEST_CUMULATION_BYTES, 2 * arrived));
        }
        try {
            ch.finish();
        } catch (DecoderException e) {
            rejections.add(reasonOf(e));
        }
        drainBodies(ch, bodies);
        ch.finishAndReleaseAll();

        assertThat(bodies).as("frame bodies").hasSameSizeAs(expected.bodies);
        for (int i = 0; i < bodies.size(); i++) {
            assertThat(bodies.get(i)).as("body of frame %s", i).isEqualTo(expected.bodies.get(i));
        }
        assertThat(rejections).as("rejections").isEqualTo(expected.rejection == null ? List.of()
                : List.of(expected.rejection));
    }

    private static RejectReason reasonOf(DecoderException e) {
        assertThat(e.getCause()).as("what the decoder threw").isInstanceOf(WireFormatException.class);
        return ((WireFormatException) e.getCause()).reason();
    }

    private static void drainBodies(EmbeddedChannel ch, List<byte[]> into) {
        for (ByteBuf body = ch.readInbound(); body != null; body = ch.readInbound()) {
            into.add(ByteBufUtil.getBytes(body));
            body.release();
        }
    }

    /** What the wire format says a stream holds: its frame bodies, then at most one rejection. */
    private static final class Expected {
        final List<byte[]> bodies = new ArrayList<>();
        RejectReason rejection;
        /** For FRAME_TOO_LARGE: how many bytes must have arrived before the refusal (the whole prefix). */
        int refusedAfterBytes = Integer.MAX_VALUE;

        static Expected read(byte[] stream, int limit) {
            Expected e = new Expected();
            ByteBuffer in = ByteBuffer.wrap(stream);
            while (in.remaining() >= Frames.LENGTH_PREFIX_BYTES) {
                int length = in.getInt(in.position());
                if (length < 0 || length > limit) {
                    e.rejection = RejectReason.FRAME_TOO_LARGE;
                    e.refusedAfterBytes = in.position() + Frames.LENGTH_PREFIX_BYTES;
                    return e;
                }
                if (in.remaining() < Frames.LENGTH_PREFIX_BYTES + length) {
                    break;
                }
                in.position(in.position() + Frames.LENGTH_PREFIX_BYTES);
                byte[] body = new byte[length];
                in.get(body);
                e.bodies.add(body);
            }
            if (in.hasRemaining()) {
                e.rejection = RejectReason.TRUNCATED_FRAME;
            }
            return e;
        }
    }
}
