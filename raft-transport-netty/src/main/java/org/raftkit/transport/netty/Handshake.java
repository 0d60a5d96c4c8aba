package org.raftkit.transport.netty;

import org.raftkit.transport.netty.wire.Envelope;
import org.raftkit.transport.netty.wire.Hello;
import org.raftkit.transport.netty.wire.HelloAck;
import org.raftkit.transport.netty.wire.HelloReject;
import org.raftkit.transport.netty.wire.Ping;
import org.raftkit.transport.netty.wire.Pong;

/**
 * The connection handshake and keep-alive frames (docs/TRANSPORT.md, "Handshake"): the dialer
 * sends {@code Hello}; the acceptor checks it and answers {@code HelloAck}, or
 * {@code HelloReject} and closes. Only then do messages flow, dialer to acceptor.
 */
final class Handshake {

    /**
     * The protocol version this code speaks: raft.proto as it is. Version 2 is version 1 with
     * InstallSnapshot, TimeoutNow, configuration entries and session commands, which the runtime
     * now sends (every write is a session command), and which a version-1 node cannot decode.
     * Version 3 adds registered sessions (the REGISTER_SESSION entry, the KIND_REGISTER_SESSION
     * request and the SESSION_EXPIRED reply), which a version-2 follower would drop with every
     * AppendEntries that carries one, and so never get past.
     */
    static final int PROTOCOL_VERSION = 3;

    /**
     * The oldest version this code accepts from a peer, as dialer or acceptor: 3, since an older
     * node would drop a session registration's entry as undecodable and stop there
     * (docs/TRANSPORT.md, "Versioning").
     */
    static final int MIN_PROTOCOL_VERSION = 3;

    /**
     * Largest first frame either end reads (the Hello, or the answer to it), in bytes. A Hello of
     * real ids is under 100 bytes; until the handshake succeeds a connection costs this node at
     * most this much buffer, however large {@code maxFrameBytes} is.
     */
    static final int MAX_HANDSHAKE_FRAME_BYTES = 4096;

    private Handshake() {
    }

    /** A failed check of a peer's Hello: how to count it and what to log. */
    record Refusal(RejectReason reason, String detail) {
    }

    /** The dialer's first frame. */
    static Envelope hello(String clusterId, String from, String to) {
        return Envelope.newBuilder().setFrom(from).setTo(to)
                .setHello(Hello.newBuilder().setProtocolVersion(PROTOCOL_VERSION).setClusterId(clusterId))
                .build();
    }

    /** The acceptor's answer to a valid Hello. */
    static Envelope helloAck(String from, String to) {
        return Envelope.newBuilder().setFrom(from).setTo(to)
                .setHelloAck(HelloAck.newBuilder().setProtocolVersion(PROTOCOL_VERSION))
                .build();
    }

    /** The acceptor's last frame before closing a refused connection. */
    static Envelope helloReject(String from, String reason) {
        return Envelope.newBuilder().setFrom(from).setHelloReject(HelloReject.newBuilder().setReason(reason)).build();
    }

    /** The dialer's keep-alive. */
    static Envelope ping(String from, String to) {
        return Envelope.newBuilder().setFrom(from).setTo(to).setPing(Ping.getDefaultInstance()).build();
    }

    /** The acceptor's answer to a ping. */
    static Envelope pong(String from, String to) {
        return Envelope.newBuilder().setFrom(from).setTo(to).setPong(Pong.getDefaultInstance()).build();
    }

    /**
     * Checks the first frame of an inbound connection.
     *
     * @return null if {@code first} is a Hello this node accepts, else why not
     */
    static Refusal check(Envelope first, NettyTransportConfig config) {
        return check(first, config, id -> config.peers().containsKey(id));
    }

    /**
     * Checks the first frame of an inbound connection against the members this node knows now
     * ({@code isMember}: the configuration in use, thesis §4.1).
     *
     * @return null if {@code first} is a Hello this node accepts, else why not
     */
    static Refusal check(Envelope first, NettyTransportConfig config, java.util.function.Predicate<String> isMember) {
        if (first.getBodyCase() != Envelope.BodyCase.HELLO) {
            return new Refusal(RejectReason.PROTOCOL_VIOLATION, "first frame is " + first.getBodyCase() + ", not HELLO");
        }
        Hello hello = first.getHello();
        if (hello.getProtocolVersion() < MIN_PROTOCOL_VERSION) {
            return new Refusal(RejectReason.UNSUPPORTED_VERSION, "protocol version " + hello.getProtocolVersion()
                    + " is older than " + MIN_PROTOCOL_VERSION + ": upgrade that node");
        }
        if (!hello.getClusterId().equals(config.clusterId())) {
            return new Refusal(RejectReason.WRONG_CLUSTER, "cluster id " + PeerText.quote(hello.getClusterId())
                    + " is not " + PeerText.quote(config.clusterId()));
        }
        if (first.getFrom().equals(config.nodeId()) || !isMember.test(first.getFrom())) {
            return new Refusal(RejectReason.UNKNOWN_NODE, "node id " + PeerText.quote(first.getFrom())
                    + " is not a peer of " + config.nodeId());
        }
        if (!first.getTo().equals(config.nodeId())) {
            return new Refusal(RejectReason.MISADDRESSED, "hello from " + first.getFrom() + " is addressed to "
                    + PeerText.quote(first.getTo()));
        }
        return null;
    }
}
