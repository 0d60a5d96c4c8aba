package org.raftkit.transport.netty;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import org.raftkit.transport.netty.tls.DevCertificates.NodeFiles;

/** JDK {@link SSLContext}s for tests' hand-driven TLS peers (blocking sockets), from PEM files. */
final class TlsClients {

    private TlsClients() {
    }

    static SSLContext clientContext(NodeFiles files, Path trust) throws IOException {
        return jdkContext(SslContextBuilder.forClient().keyManager(files.certificateChain().toFile(),
                files.privateKey().toFile()).trustManager(trust.toFile()));
    }

    /**
     * A client that presents its certificate whatever the server asks for. The JDK's own key
     * manager sends no certificate when the server's list of accepted CAs does not include its
     * issuer (or, for some, when it has expired); an attacker's client would send it anyway, and
     * the node must refuse it itself.
     */
    static SSLContext insistentClientContext(NodeFiles files, Path trust) throws Exception {
        java.security.cert.CertificateFactory x509 = java.security.cert.CertificateFactory.getInstance("X.509");
        X509Certificate[] chain;
        try (var in = Files.newInputStream(files.certificateChain())) {
            chain = x509.generateCertificates(in).toArray(new X509Certificate[0]);
        }
        String pem = Files.readString(files.privateKey());
        byte[] der = java.util.Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
        PrivateKey key = java.security.KeyFactory.getInstance("EC")
                .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(der));
        X509ExtendedKeyManager insistent = new X509ExtendedKeyManager() {
            @Override
            public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, java.net.Socket s) {
                return "node";
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                return chain;
            }

            @Override
            public PrivateKey getPrivateKey(String alias) {
                return key;
            }

            @Override
            public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
                return new String[] {"node"};
            }

            @Override
            public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
                return null;
            }

            @Override
            public String chooseServerAlias(String keyType, java.security.Principal[] issuers, java.net.Socket s) {
                return null;
            }
        };
        java.security.KeyStore trusted = java.security.KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        try (var in = Files.newInputStream(trust)) {
            int i = 0;
            for (var ca : x509.generateCertificates(in)) {
                trusted.setCertificateEntry("ca" + i++, ca);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trusted);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(new KeyManager[] {insistent}, tmf.getTrustManagers(), null);
        return context;
    }

    /**
     * The JDK context inside a Netty one, for blocking sockets. Netty's protocol list does not
     * reach sockets made from it: callers set the socket's enabled protocols themselves.
     */
    static SSLContext jdkContext(SslContextBuilder builder) throws IOException {
        return ((JdkSslContext) builder.sslProvider(SslProvider.JDK).build()).context();
    }
}
