package org.raftkit.transport.netty;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS side of a {@link NettyTransport}: reads and checks the PEM files of a {@link TlsConfig},
 * builds the JDK-provider {@link SslContext}s for accepted and dialed connections, notices when
 * the files change, and checks a peer's certificate against the node id it claims.
 *
 * <p>Threads: {@link #load} runs on the caller of {@code NettyTransport.create}. The handler
 * factories run on event loops as connections open; at most once a second they look at the files'
 * modification times and sizes, and only when those changed do they read the files again (a few
 * kilobytes, so the event loop is held for well under a millisecond). A reload that fails keeps
 * the previous material and logs one WARN per change; new connections then keep working with the
 * old certificates, which is better than refusing every peer over a half-written file.
 */
final class TlsMaterial {

    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);
    private static final long RELOAD_CHECK_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final String[] KEY_ALGORITHMS = {"EC", "RSA", "Ed25519", "Ed448", "RSASSA-PSS"};

    private final TlsConfig config;
    private final String ownUri;

    /** What was loaded last and from which file versions; replaced whole on reload. */
    private volatile Loaded current;
    private volatile long nextCheckNanos;
    /** The file versions whose reload failed, so a bad file is warned about once. */
    private volatile List<String> failedStamps;

    private record Loaded(List<String> stamps, SslContext server, SslContext client) {
    }

    private TlsMaterial(TlsConfig config, String ownUri, Loaded loaded) {
        this.config = config;
        this.ownUri = ownUri;
        this.current = loaded;
        this.nextCheckNanos = System.nanoTime() + RELOAD_CHECK_NANOS;
    }

    /**
     * Reads and checks the files of {@code config} for node {@code nodeId} of {@code clusterId}.
     *
     * @throws IllegalArgumentException naming the file, if one is missing, unreadable or not what
     *                                  it should be, if the key does not belong to the certificate,
     *                                  if the trust bundle holds no CA certificate, or if the
     *                                  certificate does not name this node
     */
    static TlsMaterial load(TlsConfig config, String clusterId, String nodeId) {
        String ownUri = TlsConfig.nodeUri(clusterId, nodeId);
        return new TlsMaterial(config, ownUri, read(config, ownUri, stamps(config)));
    }

    /** A TLS handler for a connection a peer dialed: asks for and checks the peer's certificate. */
    SslHandler newServerHandler(ByteBufAllocator alloc) {
        return fresh().server().newHandler(alloc);
    }

    /** A TLS handler for a connection this node dials to {@code peer}. */
    SslHandler newClientHandler(ByteBufAllocator alloc, InetSocketAddress peer) {
        return fresh().client().newHandler(alloc, peer.getHostString(), peer.getPort());
    }

    /**
     * Whether the peer certificate of {@code session} names {@code nodeId} of {@code clusterId}
     * (a URI SAN equal to {@link TlsConfig#nodeUri}). The chain itself was already checked by the
     * TLS handshake against the trust bundle.
     */
    static boolean peerIs(SSLSession session, String clusterId, String nodeId) {
        String expected = TlsConfig.nodeUri(clusterId, nodeId);
        return uriNames(peerCertificate(session)).contains(expected);
    }

    /** The URI names in the peer's certificate, for a log line (already quoted for the log). */
    static String peerNames(SSLSession session) {
        X509Certificate cert = peerCertificate(session);
        List<String> quoted = new ArrayList<>();
        for (String name : uriNames(cert)) {
            quoted.add(PeerText.quote(name));
        }
        return quoted.isEmpty() ? "no URI name" : String.join(", ", quoted);
    }

    // ---------------------------------------------------------------------------------------------

    private Loaded fresh() {
        long now = System.nanoTime();
        if (now - nextCheckNanos < 0) {
            return current;
        }
        nextCheckNanos = now + RELOAD_CHECK_NANOS;
        Loaded loaded = current;
        List<String> stamps;
        try {
            stamps = stamps(config);
        } catch (IllegalArgumentException e) {
            warnOnce(List.of(e.getMessage()), e);
            return loaded;
        }
        if (stamps.equals(loaded.stamps()) || stamps.equals(failedStamps)) {
            return loaded;
        }
        try {
            Loaded next = read(config, ownUri, stamps);
            current = next;
            failedStamps = null;
            LOG.info("reloaded the TLS files ({}); new connections use them", config);
            return next;
        } catch (IllegalArgumentException e) {
            warnOnce(stamps, e);
            return loaded;
        }
    }

    private void warnOnce(List<String> stamps, IllegalArgumentException e) {
        if (!stamps.equals(failedStamps)) {
            failedStamps = stamps;
            LOG.warn("cannot reload the TLS files, keeping the previous ones: {}", e.getMessage());
        }
    }

    private static Loaded read(TlsConfig config, String ownUri, List<String> stamps) {
        Path chainFile = config.certificateChainFile();
        List<X509Certificate> chain = certificates(chainFile, "certificate chain");
        PrivateKey key = privateKey(config.privateKeyFile());
        requireKeyMatches(key, chain.get(0), config.privateKeyFile(), chainFile);
        if (!uriNames(chain.get(0)).contains(ownUri)) {
            throw new IllegalArgumentException("certificate chain " + chainFile + ": the first certificate does not "
                    + "name this node (no URI subject alternative name " + ownUri + "); peers would refuse it");
        }
        warnIfOutOfDate(chain.get(0), chainFile);
        List<X509Certificate> trust = certificates(config.trustedCertificatesFile(), "trust bundle");
        if (trust.stream().noneMatch(c -> c.getBasicConstraints() >= 0)) {
            throw new IllegalArgumentException("trust bundle " + config.trustedCertificatesFile()
                    + " holds no CA certificate (none has basic constraints CA:true)");
        }
        X509Certificate[] chainArray = chain.toArray(new X509Certificate[0]);
        X509Certificate[] trustArray = trust.toArray(new X509Certificate[0]);
        String[] protocols = config.protocols().toArray(new String[0]);
        try {
            SslContext server = SslContextBuilder.forServer(key, chainArray)
                    .trustManager(trustArray)
                    .clientAuth(ClientAuth.REQUIRE)
                    .sslProvider(SslProvider.JDK)
                    .protocols(protocols)
                    .build();
            SslContext client = SslContextBuilder.forClient()
                    .keyManager(key, chainArray)
                    .trustManager(trustArray)
                    .sslProvider(SslProvider.JDK)
                    .protocols(protocols)
                    .build();
            return new Loaded(stamps, server, client);
        } catch (SSLException | RuntimeException e) {
            throw new IllegalArgumentException("cannot build a TLS context from " + config + ": " + e.getMessage(), e);
        }
    }

    /** Each file's path, size and modification time: what tells that it changed. */
    private static List<String> stamps(TlsConfig config) {
        List<String> out = new ArrayList<>();
        for (Path p : List.of(config.certificateChainFile(), config.privateKeyFile(),
                config.trustedCertificatesFile())) {
            try {
                out.add(p + ":" + Files.size(p) + ":" + Files.getLastModifiedTime(p).toMillis());
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read TLS file " + p + ": " + e, e);
            }
        }
        return out;
    }

    private static byte[] readFile(Path file, String what) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the " + what + " " + file + ": " + e, e);
        }
    }

    private static List<X509Certificate> certificates(Path file, String what) {
        byte[] bytes = readFile(file, what);
        Collection<? extends java.security.cert.Certificate> parsed;
        try {
            parsed = java.security.cert.CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(bytes));
        } catch (CertificateException e) {
            throw new IllegalArgumentException("the " + what + " " + file + " is not PEM X.509 certificates: "
                    + e.getMessage(), e);
        }
        List<X509Certificate> out = new ArrayList<>();
        for (var c : parsed) {
            out.add((X509Certificate) c);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("the " + what + " " + file + " holds no certificate");
        }
        return out;
    }

    private static PrivateKey privateKey(Path file) {
        String pem = new String(readFile(file, "private key"), StandardCharsets.US_ASCII);
        String begin = "-----BEGIN PRIVATE KEY-----";
        String end = "-----END PRIVATE KEY-----";
        int from = pem.indexOf(begin);
        int to = pem.indexOf(end);
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("the private key " + file + " is not an unencrypted PKCS#8 PEM key ("
                    + begin + "); convert it with: openssl pkcs8 -topk8 -nocrypt -in KEY -out " + file);
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the private key " + file + " has bad base64: " + e.getMessage(), e);
        }
        for (String algorithm : KEY_ALGORITHMS) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // not this algorithm; try the next
            }
        }
        throw new IllegalArgumentException("the private key " + file + " is not an EC, RSA or EdDSA PKCS#8 key");
    }

    /** See {@link TlsConfig#checkKeyPair}. */
    static void checkKeyPair(Path chainFile, Path keyFile) {
        List<X509Certificate> chain = certificates(chainFile, "certificate chain");
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("the certificate chain " + chainFile + " holds no certificate");
        }
        requireKeyMatches(privateKey(keyFile), chain.get(0), keyFile, chainFile);
    }

    /** Signs a random challenge with {@code key} and checks it with the certificate's public key. */
    private static void requireKeyMatches(PrivateKey key, X509Certificate cert, Path keyFile, Path chainFile) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "EdDSA", "Ed25519", "Ed448" -> "EdDSA";
            default -> null;
        };
        if (algorithm == null) {
            return; // an unusual key type: the TLS handshake will tell
        }
        byte[] challenge = new byte[32];
        new SecureRandom().nextBytes(challenge);
        boolean matches;
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(challenge);
            matches = verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            matches = false;
        }
        if (!matches) {
            throw new IllegalArgumentException("the private key " + keyFile + " does not belong to the first "
                    + "certificate of " + chainFile + " (" + cert.getSubjectX500Principal() + ")");
        }
    }

    private static void warnIfOutOfDate(X509Certificate cert, Path file) {
        try {
            cert.checkValidity();
        } catch (CertificateException e) {
            LOG.warn("the certificate in {} is not valid now ({} to {}): peers will refuse it", file,
                    cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant());
        }
    }

    private static X509Certificate peerCertificate(SSLSession session) {
        try {
            return (X509Certificate) Objects.requireNonNull(session, "session").getPeerCertificates()[0];
        } catch (SSLPeerUnverifiedException e) {
            throw new IllegalStateException("TLS session without a peer certificate despite mutual TLS", e);
        }
    }

    private static List<String> uriNames(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        try {
            Collection<List<?>> names = cert.getSubjectAlternativeNames();
            if (names != null) {
                for (List<?> name : names) {
                    if (Integer.valueOf(6).equals(name.get(0)) && name.get(1) instanceof String uri) {
                        out.add(uri);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // an unparsable extension names nobody
        }
        return out;
    }
}
