package org.raftkit.examples.kv;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;

/**
 * A PEM file of CA certificates that an HTTPS client of the KV API trusts: the CLI's
 * {@code --cacert}, and the {@code --tls-ca} a node trusts when its cluster view asks its peers
 * for their status. Like curl's {@code --cacert}, the file replaces the JDK's default trust
 * store rather than adding to it. Hostnames are still checked: the server's certificate must name
 * the host of the URL (an IP subject alternative name for {@code https://127.0.0.1:…}).
 */
final class CaBundle {

    private CaBundle() {
    }

    /**
     * An {@link SSLContext} for {@code java.net.http.HttpClient} that trusts exactly the
     * certificates in {@code file}. Called once by a client as it starts; reads the file on the
     * calling thread.
     *
     * @param what how the user gave the file ({@code "--cacert"}), for the message
     * @throws IllegalArgumentException naming {@code what} and the file if it is missing, cannot be
     *                                  read, is not PEM certificates or holds no certificate
     */
    static SSLContext trustOnly(Path file, String what) {
        List<Certificate> certificates = read(file, what);
        try {
            KeyStore trusted = KeyStore.getInstance(KeyStore.getDefaultType());
            trusted.load(null, null);
            for (int i = 0; i < certificates.size(); i++) {
                trusted.setCertificateEntry("ca-" + i, certificates.get(i));
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, factory.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException(what + " " + file + ": cannot make a trust store of it: "
                    + KvMain.describe(e), e);
        }
    }

    /**
     * Whether {@code failure} (anywhere in its causes) is a TLS handshake that failed on the
     * server's certificate: not issued by a trusted CA, expired, or not naming the host. Such a
     * failure is a matter of configuration, so a client reports it rather than retrying.
     */
    static boolean isCertificateFailure(Throwable failure) {
        boolean handshake = false;
        for (Throwable t = failure; t != null; t = t.getCause()) {
            handshake |= t instanceof SSLHandshakeException;
            if (handshake && (t instanceof CertificateException || t instanceof CertPathBuilderException
                    || t instanceof CertPathValidatorException)) {
                return true;
            }
        }
        return false;
    }

    /** The innermost message of {@code failure}'s causes: what the JDK found wrong with the certificate. */
    static String reason(Throwable failure) {
        Throwable innermost = failure;
        while (innermost.getCause() != null) {
            innermost = innermost.getCause();
        }
        return KvMain.describe(innermost);
    }

    private static List<Certificate> read(Path file, String what) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(what + " " + file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException(what + " " + file + ": cannot read it (permission denied)");
        } catch (IOException e) {
            throw new IllegalArgumentException(what + " " + file + ": cannot read it (" + KvMain.describe(e) + ")", e);
        }
        Collection<? extends Certificate> parsed;
        try {
            parsed = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes));
        } catch (CertificateException e) {
            throw new IllegalArgumentException(what + " " + file + " is not a PEM certificate bundle ("
                    + KvMain.describe(e) + ")", e);
        }
        if (parsed.isEmpty()) {
            throw new IllegalArgumentException(what + " " + file + " holds no certificate (expected PEM blocks "
                    + "'-----BEGIN CERTIFICATE-----', such as the ca.pem that 'cluster --tls' makes)");
        }
        return new ArrayList<>(parsed);
    }
}
