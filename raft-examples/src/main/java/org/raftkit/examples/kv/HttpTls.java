package org.raftkit.examples.kv;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import org.raftkit.transport.netty.TlsConfig;

/**
 * How a KV node's HTTP API is served: {@link #plaintext()} or HTTPS with a PEM certificate chain
 * and unencrypted PKCS#8 key, plus the PEM CA bundle the node trusts when its cluster view asks
 * its peers' APIs for their status. By default ({@link #sameAs}) these are the Raft port's files,
 * so a node with TLS between peers serves HTTPS with the same certificate; {@code serve}'s
 * {@code --http-tls-cert}, {@code --http-tls-key} and {@code --http-tls-ca} replace them one by
 * one. The API asks for no client certificate: it is for users, not for members.
 *
 * <p>Immutable. The files are read by {@link #serverContext()} and {@link #peerTrust()}, which
 * {@link KvNode#start} calls before it opens anything, so a bad file stops the node from starting.
 */
public final class HttpTls {

    /** The {@code serve} flags that replace a file of the Raft port's for HTTPS. */
    static final Set<String> FLAGS = Set.of("http-tls-cert", "http-tls-key", "http-tls-ca");

    private static final HttpTls PLAINTEXT = new HttpTls(null, null, null);

    private final Path certificateChainFile;
    private final Path privateKeyFile;
    private final Path trustedCertificatesFile;

    private HttpTls(Path certificateChainFile, Path privateKeyFile, Path trustedCertificatesFile) {
        this.certificateChainFile = certificateChainFile;
        this.privateKeyFile = privateKeyFile;
        this.trustedCertificatesFile = trustedCertificatesFile;
    }

    /** Plain HTTP. */
    public static HttpTls plaintext() {
        return PLAINTEXT;
    }

    /**
     * HTTPS with these PEM files.
     *
     * @param certificateChainFile    the API's certificate, then its intermediates; it must name the
     *                                host clients use (an IP or DNS subject alternative name)
     * @param privateKeyFile          the certificate's key, unencrypted PKCS#8
     * @param trustedCertificatesFile the CAs whose certificates the cluster view accepts from peers
     */
    public static HttpTls of(Path certificateChainFile, Path privateKeyFile, Path trustedCertificatesFile) {
        return new HttpTls(Objects.requireNonNull(certificateChainFile, "certificateChainFile"),
                Objects.requireNonNull(privateKeyFile, "privateKeyFile"),
                Objects.requireNonNull(trustedCertificatesFile, "trustedCertificatesFile"));
    }

    /** HTTPS with the Raft port's files when {@code raft} is TLS; plain HTTP when it is plaintext. */
    public static HttpTls sameAs(TlsConfig raft) {
        return raft.enabled() ? of(raft.certificateChainFile(), raft.privateKeyFile(), raft.trustedCertificatesFile())
                : PLAINTEXT;
    }

    /**
     * {@code serve}'s HTTPS: the Raft port's files, each replaced by its {@code --http-tls-*} flag
     * when given. Plain HTTP when neither the Raft port's files nor any of these flags are given.
     *
     * @throws Flags.UsageException if some but not all three files are then known
     */
    static HttpTls fromFlags(Flags f, TlsConfig raft) {
        if (!raft.enabled() && FLAGS.stream().allMatch(name -> f.string(name, null) == null)) {
            return PLAINTEXT;
        }
        Path[] files = new Path[3];
        int i = 0;
        for (String name : List.of("http-tls-cert", "http-tls-key", "http-tls-ca")) {
            String value = f.string(name, null);
            if (value == null && !raft.enabled()) {
                throw new Flags.UsageException("HTTPS needs a certificate, a key and a CA bundle: give all of "
                        + "--http-tls-cert, --http-tls-key and --http-tls-ca, or --tls-cert/--tls-key/--tls-ca to "
                        + "use the Raft port's files; --" + name + " is missing");
            }
            files[i++] = value != null ? Path.of(value) : switch (name) {
                case "http-tls-cert" -> raft.certificateChainFile();
                case "http-tls-key" -> raft.privateKeyFile();
                default -> raft.trustedCertificatesFile();
            };
        }
        return of(files[0], files[1], files[2]);
    }

    /** Whether the API is served over HTTPS. */
    public boolean enabled() {
        return certificateChainFile != null;
    }

    /** {@code "https"} or {@code "http"}: the scheme of the API's URLs. */
    public String scheme() {
        return enabled() ? "https" : "http";
    }

    /** The API's PEM certificate chain; null for plain HTTP. */
    public Path certificateChainFile() {
        return certificateChainFile;
    }

    /** The API certificate's PEM PKCS#8 key; null for plain HTTP. */
    public Path privateKeyFile() {
        return privateKeyFile;
    }

    /** The PEM CAs trusted for peers' APIs (the cluster view); null for plain HTTP. */
    public Path trustedCertificatesFile() {
        return trustedCertificatesFile;
    }

    /**
     * The server side of HTTPS for {@link KvHttpServer}: TLS 1.3 or 1.2 (the API is for any
     * client, curl and browsers included), no client certificate asked for. Null for plain HTTP.
     *
     * @throws IllegalArgumentException naming the file if the chain or key is missing, unreadable
     *                                  or not PEM of the expected kind
     */
    SslContext serverContext() {
        if (!enabled()) {
            return null;
        }
        requireReadable(certificateChainFile, "HTTPS certificate chain");
        requireReadable(privateKeyFile, "HTTPS private key");
        TlsConfig.checkKeyPair(certificateChainFile, privateKeyFile);
        try {
            return SslContextBuilder.forServer(certificateChainFile.toFile(), privateKeyFile.toFile())
                    .sslProvider(SslProvider.JDK)
                    .clientAuth(ClientAuth.NONE)
                    .protocols("TLSv1.3", "TLSv1.2")
                    .build();
        } catch (SSLException | RuntimeException e) {
            throw new IllegalArgumentException("cannot serve HTTPS with the certificate chain " + certificateChainFile
                    + " and the key " + privateKeyFile + " (PEM certificates and an unencrypted PKCS#8 key are "
                    + "expected): " + KvMain.describe(e), e);
        }
    }

    /**
     * What the cluster view trusts when it asks a peer's HTTPS API for its status: exactly the
     * CAs of {@link #trustedCertificatesFile()}. Null for plain HTTP.
     *
     * @throws IllegalArgumentException naming the file, as {@link CaBundle#trustOnly} does
     */
    SSLContext peerTrust() {
        return enabled() ? CaBundle.trustOnly(trustedCertificatesFile, "the HTTPS CA bundle") : null;
    }

    private static void requireReadable(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("the " + what + " " + file + " does not exist or is not a file");
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException("the " + what + " " + file + " cannot be read (permission denied)");
        }
    }

    /** Equal when the same files are configured. */
    @Override
    public boolean equals(Object o) {
        return o instanceof HttpTls t && Objects.equals(certificateChainFile, t.certificateChainFile)
                && Objects.equals(privateKeyFile, t.privateKeyFile)
                && Objects.equals(trustedCertificatesFile, t.trustedCertificatesFile);
    }

    @Override
    public int hashCode() {
        return Objects.hash(certificateChainFile, privateKeyFile, trustedCertificatesFile);
    }

    @Override
    public String toString() {
        return enabled() ? "HTTPS (certificate " + certificateChainFile + ", key " + privateKeyFile + ", peers' CA "
                + trustedCertificatesFile + ")" : "plain HTTP";
    }
}
