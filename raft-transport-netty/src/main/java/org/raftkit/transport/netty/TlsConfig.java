package org.raftkit.transport.netty;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * How a {@link NettyTransport} secures its connections: {@link #plaintext()} (the default) or
 * {@link #mutual mutual TLS}, where every connection, accepted or dialed, starts with a TLS
 * handshake in which both ends present a certificate issued by a CA in the trust bundle.
 *
 * <p>With TLS on, each node's certificate must carry a URI subject alternative name
 * {@link #nodeUri(String, String) raftkit://&lt;clusterId&gt;/&lt;nodeId&gt;}. The acceptor
 * refuses a Hello whose node id is not named by the dialer's certificate, and the dialer refuses
 * to send its Hello to a node whose certificate does not name the peer it meant to reach. A
 * certificate therefore speaks for one node of one cluster; docs/TRANSPORT.md says why a URI.
 *
 * <p>The three files are PEM: the certificate chain (this node's certificate first, then any
 * intermediates), an unencrypted PKCS#8 private key ({@code BEGIN PRIVATE KEY}), and the trusted
 * CA certificates. They are read and checked by {@link NettyTransport#create}; a missing or
 * unreadable file, a key that does not belong to the certificate, or a trust bundle without a CA
 * certificate fails there, naming the file. While the transport runs, a new connection uses the
 * files as they are then (checked for changes at most once a second), so certificates can be
 * rotated by replacing the files; connections already open keep their session.
 *
 * <p>Immutable and thread-safe.
 */
public final class TlsConfig {

    /** The URI scheme of a node's identity in its certificate. */
    public static final String NODE_URI_SCHEME = "raftkit";

    private static final TlsConfig PLAINTEXT = new TlsConfig(null, null, null, List.of());

    private final Path certificateChainFile;
    private final Path privateKeyFile;
    private final Path trustedCertificatesFile;
    private final List<String> protocols;

    private TlsConfig(Path certificateChainFile, Path privateKeyFile, Path trustedCertificatesFile,
                      List<String> protocols) {
        this.certificateChainFile = certificateChainFile;
        this.privateKeyFile = privateKeyFile;
        this.trustedCertificatesFile = trustedCertificatesFile;
        this.protocols = protocols;
    }

    /** No encryption and no authentication beyond the handshake's cluster id and node id. The default. */
    public static TlsConfig plaintext() {
        return PLAINTEXT;
    }

    /**
     * Mutual TLS 1.3 with these PEM files ({@link #allowingTls12()} adds TLS 1.2).
     *
     * @param certificateChainFile    this node's certificate, then its intermediates
     * @param privateKeyFile          the certificate's private key, unencrypted PKCS#8
     * @param trustedCertificatesFile the CA certificates a peer's chain must lead to
     */
    public static TlsConfig mutual(Path certificateChainFile, Path privateKeyFile, Path trustedCertificatesFile) {
        return new TlsConfig(Objects.requireNonNull(certificateChainFile, "certificateChainFile"),
                Objects.requireNonNull(privateKeyFile, "privateKeyFile"),
                Objects.requireNonNull(trustedCertificatesFile, "trustedCertificatesFile"), List.of("TLSv1.3"));
    }

    /** This config, also accepting TLS 1.2 (for peers or providers without 1.3). */
    public TlsConfig allowingTls12() {
        if (!enabled()) {
            throw new IllegalStateException("plaintext has no TLS version to widen");
        }
        return new TlsConfig(certificateChainFile, privateKeyFile, trustedCertificatesFile,
                List.of("TLSv1.3", "TLSv1.2"));
    }

    /**
     * Checks that {@code privateKeyFile} is the key of the first certificate in
     * {@code certificateChainFile} (both PEM), as a TLS server's files must be. For an application
     * that serves other TLS endpoints (an HTTPS API) from files of its own, so that a mismatch is
     * found at start rather than at the first handshake.
     *
     * @throws IllegalArgumentException naming the file if either is missing, unreadable, not PEM
     *                                  of the expected kind, or the key does not belong to the certificate
     */
    public static void checkKeyPair(Path certificateChainFile, Path privateKeyFile) {
        TlsMaterial.checkKeyPair(certificateChainFile, privateKeyFile);
    }

    /**
     * The identity a node's certificate must carry as a URI subject alternative name:
     * {@code raftkit://<clusterId>/<nodeId>}, with characters a URI cannot hold percent-encoded.
     */
    public static String nodeUri(String clusterId, String nodeId) {
        try {
            return new URI(NODE_URI_SCHEME, clusterId, "/" + nodeId, null, null).toASCIIString();
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("cluster id " + clusterId + " cannot be a URI authority: "
                    + e.getMessage(), e);
        }
    }

    /** Whether connections use TLS. */
    public boolean enabled() {
        return certificateChainFile != null;
    }

    /** This node's PEM certificate chain; null for plaintext. */
    public Path certificateChainFile() {
        return certificateChainFile;
    }

    /** This node's PEM PKCS#8 private key; null for plaintext. */
    public Path privateKeyFile() {
        return privateKeyFile;
    }

    /** The PEM CA certificates peers are checked against; null for plaintext. */
    public Path trustedCertificatesFile() {
        return trustedCertificatesFile;
    }

    /** The TLS versions offered and accepted, e.g. {@code [TLSv1.3]}; empty for plaintext. */
    public List<String> protocols() {
        return protocols;
    }

    /** Equal when the same files and TLS versions are configured. */
    @Override
    public boolean equals(Object o) {
        return o instanceof TlsConfig t && Objects.equals(certificateChainFile, t.certificateChainFile)
                && Objects.equals(privateKeyFile, t.privateKeyFile)
                && Objects.equals(trustedCertificatesFile, t.trustedCertificatesFile) && protocols.equals(t.protocols);
    }

    @Override
    public int hashCode() {
        return Objects.hash(certificateChainFile, privateKeyFile, trustedCertificatesFile, protocols);
    }

    @Override
    public String toString() {
        return enabled() ? "mutual TLS " + protocols + " (certificate " + certificateChainFile + ", key "
                + privateKeyFile + ", trust " + trustedCertificatesFile + ")" : "plaintext";
    }
}
