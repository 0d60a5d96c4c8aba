package org.raftkit.transport.netty;

/**
 * How a {@link NettyTransport} secures its connections. Today the only choice is
 * {@link #plaintext()}; this type is where mutual TLS will be configured.
 *
 * <p>Why a type now: mTLS is the next step, and adding it must not change the public API. It will
 * arrive as new factory methods here (for example a key and certificate chain for this node and a
 * trust store for its peers) and a TLS handler at the front of each connection's pipeline, before
 * the frame decoder. The handshake of docs/TRANSPORT.md then runs inside the TLS session, and the
 * peer's certificate can be checked against the node id it claims in its {@code Hello}.
 * {@link NettyTransportConfig.Builder#tls(TlsConfig)} already takes one.
 *
 * <p>Immutable and thread-safe.
 */
public final class TlsConfig {

    private static final TlsConfig PLAINTEXT = new TlsConfig();

    private TlsConfig() {
    }

    /** No encryption and no authentication beyond the handshake's cluster id and node id. The default. */
    public static TlsConfig plaintext() {
        return PLAINTEXT;
    }

    /** Whether connections are encrypted. Always false until TLS is implemented. */
    public boolean enabled() {
        return false;
    }

    @Override
    public String toString() {
        return "plaintext";
    }
}
