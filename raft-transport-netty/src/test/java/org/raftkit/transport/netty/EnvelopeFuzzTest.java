package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import com.code_intelligence.jazzer.junit.FuzzTest;

import io.netty.buffer.Unpooled;

import org.raftkit.message.Message;
import org.raftkit.transport.netty.wire.Envelope;

/**
 * Fuzz target (docs/TESTING.md, "Fuzzing"): arbitrary bytes as one frame body, through the path
 * every inbound frame takes: {@link Frames#parse} (protobuf), the acceptor's
 * {@link Handshake#check} as if it were the connection's first frame, and {@link MessageCodec#decode}
 * as if it came after the handshake. For every input it asserts that
 * <ul>
 *   <li>each step either succeeds or throws the one documented {@link WireFormatException}: parsing
 *       only {@link RejectReason#MALFORMED_FRAME}; decoding only {@link RejectReason#MALFORMED_FRAME},
 *       {@link RejectReason#UNSUPPORTED_CONTENT} or, for a body that is not a Raft message,
 *       {@link RejectReason#UNKNOWN_MESSAGE}; no other exception, ever;</li>
 *   <li>the handshake check never throws, refuses with one of its five reasons, and accepts only a
 *       Hello of a supported version, from a configured peer, for this cluster and this node;</li>
 *   <li>a decoded message keeps the envelope's {@code from} and {@code to}, and round-trips: encoding
 *       it and decoding that again gives the same envelope (a fixpoint after one pass).</li>
 * </ul>
 * Seeds (a Hello, AppendEntries, a heartbeat, a PreVote, forwarded client calls, an entry type from
 * a newer version, an empty envelope) are in
 * {@code src/test/resources/org/raftkit/transport/netty/EnvelopeFuzzTestInputs/}.
 */
class EnvelopeFuzzTest {

    private static final NettyTransportConfig ACCEPTOR = NettyTransportConfig.builder()
            .clusterId("raft-kv")
            .nodeId("n1")
            .peers(Map.of("n1", new InetSocketAddress("127.0.0.1", 7001),
                    "n2", new InetSocketAddress("127.0.0.1", 7002),
                    "n3", new InetSocketAddress("127.0.0.1", 7003)))
            .build();

    private static final Set<RejectReason> HANDSHAKE_REFUSALS = EnumSet.of(RejectReason.PROTOCOL_VIOLATION,
            RejectReason.UNSUPPORTED_VERSION, RejectReason.WRONG_CLUSTER, RejectReason.UNKNOWN_NODE,
            RejectReason.MISADDRESSED);

    /** The bodies that carry a Raft message or a forwarded client call: never "unknown". */
    private static final Set<Envelope.BodyCase> MESSAGE_BODIES = EnumSet.range(Envelope.BodyCase.REQUEST_VOTE,
            Envelope.BodyCase.CLIENT_REPLY);

    @FuzzTest(maxDuration = "5m")
    void arbitraryBodiesAreRefusedCleanlyOrRoundTrip(byte[] body) throws WireFormatException {
        Envelope envelope;
        try {
            envelope = Frames.parse(Unpooled.wrappedBuffer(body));
        } catch (WireFormatException e) {
            assertThat(e.reason()).as("why the body was refused").isEqualTo(RejectReason.MALFORMED_FRAME);
            return;
        }

        checkAsFirstFrame(envelope);

        Message message;
        try {
            message = MessageCodec.decode(envelope);
        } catch (WireFormatException e) {
            assertThat(e.reason()).as("why %s was refused", envelope.getBodyCase())
                    .isIn(RejectReason.MALFORMED_FRAME, RejectReason.UNSUPPORTED_CONTENT, RejectReason.UNKNOWN_MESSAGE);
            if (e.reason() == RejectReason.UNKNOWN_MESSAGE) {
                assertThat(envelope.getBodyCase()).as("body of an unknown message").isNotIn(MESSAGE_BODIES);
            }
            return;
        }
        assertThat(message.from()).isEqualTo(envelope.getFrom());
        assertThat(message.to()).isEqualTo(envelope.getTo());

        Envelope encoded = MessageCodec.encode(message);
        assertThat(MessageCodec.encode(MessageCodec.decode(encoded))).as("%s after a second round trip", message)
                .isEqualTo(encoded);
    }

    /** The acceptor's check of a first frame: a refusal with a known reason, or a Hello it may accept. */
    private static void checkAsFirstFrame(Envelope first) {
        Handshake.Refusal refusal = Handshake.check(first, ACCEPTOR);
        if (refusal != null) {
            assertThat(refusal.reason()).isIn(HANDSHAKE_REFUSALS);
            assertThat(refusal.detail()).isNotBlank();
            return;
        }
        assertThat(first.getBodyCase()).isEqualTo(Envelope.BodyCase.HELLO);
        assertThat(first.getHello().getProtocolVersion()).isGreaterThanOrEqualTo(Handshake.MIN_PROTOCOL_VERSION);
        assertThat(first.getHello().getClusterId()).isEqualTo(ACCEPTOR.clusterId());
        assertThat(ACCEPTOR.peers()).containsKey(first.getFrom());
        assertThat(first.getTo()).isEqualTo(ACCEPTOR.nodeId());
    }
}
