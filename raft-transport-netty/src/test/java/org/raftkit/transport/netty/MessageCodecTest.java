package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.ClientReply;
import org.raftkit.message.ClientRequest;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.HeartbeatReply;
import org.raftkit.message.InstallSnapshot;
import org.raftkit.message.InstallSnapshotReply;
import org.raftkit.message.Message;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.message.ReadIndexRequest;
import org.raftkit.message.RequestVote;
import org.raftkit.message.RequestVoteReply;
import org.raftkit.SnapshotConfig;
import org.raftkit.transport.netty.wire.Envelope;

/**
 * Every message type survives the full wire path (codec, frame encoder, frame decoder, parser,
 * codec) unchanged, over thousands of seeded random cases each; and content from a newer peer is
 * classified as droppable, not fatal. A failure names the seed and case to replay.
 */
class MessageCodecTest {

    private static final long SEED = Long.getLong("codec.seed", 20_261_122L);
    private static final int CASES_PER_TYPE = Integer.getInteger("codec.cases", 2_000);

    private final EmbeddedChannel encoder = new EmbeddedChannel(Frames.Encoder.INSTANCE);
    private final EmbeddedChannel decoder = new EmbeddedChannel(FrameDecoderTest.handshaken(64 << 20));

    @AfterEach
    void finishChannels() {
        encoder.finishAndReleaseAll();
        decoder.finishAndReleaseAll();
    }

    @Test
    void requestVoteAndPreVoteRoundTrip() {
        roundTrips("RequestVote", r -> new RequestVote(id(r), id(r), num(r), num(r), num(r), r.nextBoolean(),
                r.nextBoolean()));
    }

    @Test
    void requestVoteReplyRoundTrips() {
        roundTrips("RequestVoteReply", r -> new RequestVoteReply(id(r), id(r), num(r), r.nextBoolean(), r.nextBoolean()));
    }

    @Test
    void appendEntriesRoundTripsWithEmptyLargeAndEmptyPayloadEntries() {
        roundTrips("AppendEntries", r -> new AppendEntries(id(r), id(r), num(r), num(r), num(r), entries(r), num(r)));
    }

    @Test
    void appendEntriesReplyRoundTripsWithConflictHints() {
        roundTrips("AppendEntriesReply", r -> new AppendEntriesReply(id(r), id(r), num(r), r.nextBoolean(), num(r),
                num(r), num(r), num(r)));
    }

    @Test
    void heartbeatAndReplyRoundTrip() {
        roundTrips("Heartbeat", r -> new Heartbeat(id(r), id(r), num(r), num(r), num(r)));
        roundTrips("HeartbeatReply", r -> new HeartbeatReply(id(r), id(r), num(r), num(r)));
    }

    @Test
    void readIndexRequestAndReplyRoundTrip() {
        roundTrips("ReadIndexRequest", r -> new ReadIndexRequest(id(r), id(r), num(r), num(r)));
        roundTrips("ReadIndexReply", r -> new ReadIndexReply(id(r), id(r), num(r), num(r), r.nextBoolean(), num(r)));
    }

    @Test
    void installSnapshotChunksRoundTripFromEmptyToFullSize() {
        roundTrips("InstallSnapshot", r -> new InstallSnapshot(id(r), id(r), num(r), num(r), num(r), num(r), chunk(r),
                r.nextBoolean()));
        roundTrips("InstallSnapshotReply", r -> new InstallSnapshotReply(id(r), id(r), num(r), num(r), num(r),
                r.nextBoolean()));
        roundTrips("TimeoutNow", r -> new org.raftkit.message.TimeoutNow(id(r), id(r), num(r)));
    }

    @Test
    void everyMessageTypeIsCoveredByARoundTrip() {
        // A new message record must get a wire form and a round trip above: this lists what they cover.
        List<Class<?>> covered = List.of(RequestVote.class, RequestVoteReply.class, AppendEntries.class,
                AppendEntriesReply.class, Heartbeat.class, HeartbeatReply.class, ReadIndexRequest.class,
                ReadIndexReply.class, InstallSnapshot.class, InstallSnapshotReply.class,
                org.raftkit.message.TimeoutNow.class, ClientRequest.class, ClientReply.class);
        List<Class<?>> permitted = new ArrayList<>(List.of(org.raftkit.message.RaftMessage.class.getPermittedSubclasses()));
        permitted.addAll(List.of(Message.class.getPermittedSubclasses()));
        permitted.remove(org.raftkit.message.RaftMessage.class);
        assertThat(covered).containsExactlyInAnyOrderElementsOf(permitted);
    }

    @Test
    void whatMaxEntryBytesPerMessageAllowsFitsTheFrameEvenInTheWorstCase() throws Exception {
        String longId = "n".repeat(200);
        for (int frame : new int[] {NettyTransportConfig.DEFAULT_MAX_FRAME_BYTES, 1 << 20, 64 << 10}) {
            NettyTransportConfig config = NettyTransportConfig.builder().clusterId("c").nodeId(longId)
                    .peers(java.util.Map.of(longId + "2", new java.net.InetSocketAddress("127.0.0.1", 1)))
                    .listenAddress(new java.net.InetSocketAddress("127.0.0.1", 0)).maxFrameBytes(frame).maxOutboundBytesPerPeer(2L * frame).maxInboundBufferedBytes(2L * frame)
                    .build();
            long carries = config.maxEntryBytesPerMessage();
            // Empty entries at the widest indexes and terms: the most wire bytes per counted byte.
            List<Entry> empty = new ArrayList<>();
            for (long counted = 0; counted + Entry.OVERHEAD_BYTES <= carries; counted += Entry.OVERHEAD_BYTES) {
                empty.add(Entry.noOp(Long.MAX_VALUE - empty.size(), Long.MAX_VALUE));
            }
            byte[] oneLarge = new byte[(int) carries - Entry.OVERHEAD_BYTES];
            List<Message> largest = List.of(
                    new AppendEntries(longId, longId + "2", -1, -1, -1, empty, -1),
                    new AppendEntries(longId, longId + "2", -1, -1, -1,
                            List.of(Entry.command(Long.MAX_VALUE, Long.MAX_VALUE, oneLarge)), -1),
                    new InstallSnapshot(longId, longId + "2", -1, -1, -1, -1, new byte[(int) carries - 64], true));
            for (Message m : largest) {
                assertThat(MessageCodec.encode(m).getSerializedSize()).as("%s in a frame of %d", m.getClass().getSimpleName(),
                        frame).isLessThanOrEqualTo(frame);
            }
        }
        assertThat(NettyTransportConfig.builder().clusterId("c").nodeId("n1")
                .peers(java.util.Map.of("n1", new java.net.InetSocketAddress("127.0.0.1", 1))).build()
                .maxEntryBytesPerMessage())
                .as("the default frame carries a default snapshot chunk")
                .isGreaterThanOrEqualTo(SnapshotConfig.DEFAULT_CHUNK_BYTES + 64L);
    }

    @Test
    void forwardedClientCallsRoundTripWithNullHintsAndResults() {
        roundTrips("ClientRequest", r -> new ClientRequest(id(r), id(r), num(r),
                ClientRequest.Kind.values()[r.nextInt(ClientRequest.Kind.values().length)], payload(r)));
        roundTrips("ClientReply", r -> new ClientReply(id(r), id(r), num(r),
                ClientReply.Status.values()[r.nextInt(ClientReply.Status.values().length)],
                r.nextInt(4) == 0 ? null : payload(r), r.nextInt(3) == 0 ? null : id(r),
                r.nextInt(3) == 0 ? null : text(r)));
    }

    @Test
    void anEnvelopeWithABodyFromANewerVersionIsUnknownNotMalformed() throws Exception {
        // Field 99 of Envelope does not exist in version 1: what a newer peer's new message looks like.
        Envelope fromTheFuture = withExtraField(Envelope.newBuilder().setFrom("n2").setTo("n1").build(), 99);
        assertThatThrownBy(() -> MessageCodec.decode(fromTheFuture))
                .isInstanceOfSatisfying(WireFormatException.class, e -> {
                    assertThat(e.reason()).isEqualTo(RejectReason.UNKNOWN_MESSAGE);
                    assertThat(e.tolerable()).isTrue();
                });
    }

    @Test
    void aKnownMessageWithANewerFieldStillDecodes() throws Exception {
        Heartbeat h = new Heartbeat("n2", "n1", 7, 5, 3);
        Envelope withNewField = Envelope.newBuilder(MessageCodec.encode(h))
                .setHeartbeat(org.raftkit.transport.netty.wire.Heartbeat.parseFrom(
                        withExtraField(MessageCodec.encode(h).getHeartbeat(), 15).toByteArray()))
                .build();
        assertThat(MessageCodec.decode(withNewField)).isEqualTo(h);
    }

    @Test
    void anEntryTypeFromANewerVersionIsUnsupportedContent() {
        Envelope e = MessageCodec.encode(new AppendEntries("n2", "n1", 3, 0, 0,
                List.of(Entry.command(1, 3, new byte[] {1})), 0));
        Envelope newerType = e.toBuilder().setAppendEntries(e.getAppendEntries().toBuilder()
                .setEntries(0, e.getAppendEntries().getEntries(0).toBuilder().setTypeValue(7))).build();
        assertThatThrownBy(() -> MessageCodec.decode(newerType))
                .isInstanceOfSatisfying(WireFormatException.class,
                        x -> assertThat(x.reason()).isEqualTo(RejectReason.UNSUPPORTED_CONTENT));
    }

    @Test
    void anEntryWithIndexZeroOrNoTypeIsMalformed() {
        Envelope e = MessageCodec.encode(new AppendEntries("n2", "n1", 3, 0, 0,
                List.of(Entry.command(1, 3, new byte[] {1})), 0));
        var entry = e.getAppendEntries().getEntries(0).toBuilder();
        for (var broken : List.of(entry.clone().setIndex(0), entry.clone().clearType())) {
            Envelope bad = e.toBuilder().setAppendEntries(e.getAppendEntries().toBuilder().setEntries(0, broken)).build();
            assertThatThrownBy(() -> MessageCodec.decode(bad))
                    .isInstanceOfSatisfying(WireFormatException.class,
                            x -> assertThat(x.reason()).isEqualTo(RejectReason.MALFORMED_FRAME));
        }
    }

    @Test
    void bytesThatAreNotAnEnvelopeAreMalformed() {
        ByteBuf garbage = io.netty.buffer.Unpooled.wrappedBuffer(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF});
        assertThatThrownBy(() -> Frames.parse(garbage))
                .isInstanceOfSatisfying(WireFormatException.class,
                        x -> assertThat(x.reason()).isEqualTo(RejectReason.MALFORMED_FRAME));
    }

    // ---------------------------------------------------------------------------------------------

    /** Encodes, frames, unframes, parses and decodes {@link #CASES_PER_TYPE} random messages. */
    private void roundTrips(String type, Function<Random, Message> generator) {
        long seed = SEED ^ type.hashCode();
        Random random = new Random(seed);
        for (int i = 0; i < CASES_PER_TYPE; i++) {
            Message sent = generator.apply(random);
            try {
                assertSameMessage(throughTheWire(sent), sent);
            } catch (AssertionError | Exception e) {
                throw new AssertionError(type + " round trip failed at case " + i + " of seed " + seed
                        + " (replay: -Dcodec.seed=" + SEED + "): " + sent, e);
            }
        }
    }

    private Message throughTheWire(Message m) throws WireFormatException {
        assertThat(encoder.writeOutbound(MessageCodec.encode(m))).isTrue();
        ByteBuf frame = encoder.readOutbound();
        decoder.writeInbound(frame);
        ByteBuf body = decoder.readInbound();
        try {
            return MessageCodec.decode(Frames.parse(body));
        } finally {
            body.release();
        }
    }

    /** Component by component, comparing byte arrays by content (records compare them by reference). */
    private static void assertSameMessage(Message actual, Message expected) throws ReflectiveOperationException {
        assertThat(actual.getClass()).isEqualTo(expected.getClass());
        for (RecordComponent c : expected.getClass().getRecordComponents()) {
            Object a = c.getAccessor().invoke(actual);
            Object e = c.getAccessor().invoke(expected);
            if (e instanceof byte[]) {
                assertThat(a).as(c.getName()).isInstanceOf(byte[].class);
                assertThat(Arrays.equals((byte[]) a, (byte[]) e)).as(c.getName()).isTrue();
            } else {
                assertThat(a).as(c.getName()).isEqualTo(e);
            }
        }
    }

    private static <T extends com.google.protobuf.Message> T withExtraField(T message, int fieldNumber)
            throws Exception {
        ByteString.Output bytes = ByteString.newOutput();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        message.writeTo(out);
        out.writeUInt64(fieldNumber, 42);
        out.flush();
        @SuppressWarnings("unchecked")
        T parsed = (T) message.getParserForType().parseFrom(bytes.toByteString());
        return parsed;
    }

    // Random values: extremes as often as ordinary ones, since that is where encodings break.

    private static long num(Random r) {
        switch (r.nextInt(6)) {
            case 0:
                return 0;
            case 1:
                return Long.MAX_VALUE;
            case 2:
                return -1 - r.nextInt(1000); // never produced by Raft, but must survive the wire
            case 3:
                return r.nextLong();
            default:
                return r.nextInt(1 << 20);
        }
    }

    private static long positive(Random r) {
        return r.nextBoolean() ? 1 + r.nextInt(1 << 20) : 1 + (r.nextLong() & Long.MAX_VALUE - 1);
    }

    private static String id(Random r) {
        return r.nextInt(10) == 0 ? text(r) : "n" + r.nextInt(100);
    }

    private static String text(Random r) {
        String alphabet = "abcXYZ019 -_é€𝄞\u0000";
        StringBuilder sb = new StringBuilder();
        int n = r.nextInt(20);
        for (int i = 0; i < n; i++) {
            sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0,
                    r.nextInt(alphabet.codePointCount(0, alphabet.length())))));
        }
        return sb.toString();
    }

    private static byte[] payload(Random r) {
        int size;
        switch (r.nextInt(8)) {
            case 0:
                size = 0;
                break;
            case 1:
                size = 4096 + r.nextInt(64 * 1024);
                break;
            default:
                size = r.nextInt(300);
        }
        byte[] b = new byte[size];
        r.nextBytes(b);
        return b;
    }

    /** A snapshot chunk: sometimes a full default-size one, sometimes empty (a last chunk), mostly small. */
    private static byte[] chunk(Random r) {
        int pick = r.nextInt(20);
        byte[] b = new byte[pick == 0 ? SnapshotConfig.DEFAULT_CHUNK_BYTES : pick < 3 ? 0 : r.nextInt(8192)];
        r.nextBytes(b);
        return b;
    }

    private static List<Entry> entries(Random r) {
        int n;
        switch (r.nextInt(10)) {
            case 0:
                n = 0;
                break;
            case 1:
                n = 1000 + r.nextInt(1000);
                break;
            default:
                n = r.nextInt(50);
        }
        List<Entry> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(r.nextInt(5) == 0
                    ? Entry.noOp(positive(r), positive(r))
                    : new Entry(positive(r), positive(r), r.nextInt(5) == 0 ? EntryType.values()[r.nextInt(EntryType.values().length)] : EntryType.COMMAND,
                            r.nextInt(4) == 0 ? new byte[0] : smallPayload(r)));
        }
        return out;
    }

    private static byte[] smallPayload(Random r) {
        byte[] b = new byte[1 + r.nextInt(256)];
        r.nextBytes(b);
        return b;
    }
}
