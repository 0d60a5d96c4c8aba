package org.raftkit.transport.netty.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.raftkit.transport.netty.TlsConfig;

/**
 * Throwaway certificates for trying mutual TLS out and for tests: a certificate authority and
 * node certificates that carry {@link TlsConfig#nodeUri}, written as the PEM files
 * {@link TlsConfig#mutual} reads. <b>Not for production</b>: the CA's private key lies next to its
 * certificate under a fixed password, so anyone who can read the directory can mint a member.
 * A real deployment gets its certificates from the organisation's CA.
 *
 * <p>The JDK has no public API to build certificates, so this runs the JDK's own {@code keytool}
 * ({@code $JAVA_HOME/bin/keytool}) a few times per certificate, each a short-lived process (about
 * half a second), and turns the PKCS#12 key into PKCS#8 PEM itself. Keys are EC P-256.
 *
 * <p>Layout: the authority's directory holds {@code ca.pem} (the trust bundle) and {@code ca.p12}
 * (its key); {@link #issue} writes {@code node.pem} (the node's certificate, then the CA's) and
 * {@code node.key} into the directory it is given. Methods block on keytool; any thread.
 */
public final class DevCertificates {

    /** The fixed password of the keystores; they are throwaway. */
    private static final String PASSWORD = "raftkit-dev";
    private static final String CA_ALIAS = "ca";
    private static final long KEYTOOL_TIMEOUT_SECONDS = 60;
    /** Ids a keytool command line and a SAN list can carry without quoting. */
    private static final Pattern PLAIN_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    /** One node's files, ready for {@link TlsConfig#mutual}. */
    public record NodeFiles(Path certificateChain, Path privateKey, Path trustedCertificates) {
        /** {@link TlsConfig#mutual} over these files. */
        public TlsConfig tlsConfig() {
            return TlsConfig.mutual(certificateChain, privateKey, trustedCertificates);
        }
    }

    private final Path dir;

    private DevCertificates(Path dir) {
        this.dir = dir;
    }

    /**
     * Creates a new CA named {@code name} in {@code dir} (created if needed), valid ten years,
     * replacing one that was there.
     *
     * @throws IllegalStateException if keytool fails; UncheckedIOException if {@code dir} cannot be written
     */
    public static DevCertificates createAuthority(Path dir, String name) {
        requirePlain("CA name", name);
        DevCertificates ca = new DevCertificates(dir.toAbsolutePath());
        try {
            Files.createDirectories(ca.dir);
            Files.deleteIfExists(ca.keystore());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + dir + " for a CA", e);
        }
        keytool("-genkeypair", "-keystore", ca.keystore().toString(), "-storetype", "PKCS12",
                "-storepass", PASSWORD, "-alias", CA_ALIAS, "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=" + name, "-validity", "3650", "-ext", "bc:c=ca:true", "-ext", "KU=keyCertSign,cRLSign");
        keytool("-exportcert", "-keystore", ca.keystore().toString(), "-storepass", PASSWORD, "-alias", CA_ALIAS,
                "-rfc", "-file", ca.certificate().toString());
        return ca;
    }

    /** The CA made earlier by {@link #createAuthority} in {@code dir}, to issue more certificates. */
    public static DevCertificates openAuthority(Path dir) {
        DevCertificates ca = new DevCertificates(dir.toAbsolutePath());
        if (!Files.isReadable(ca.keystore()) || !Files.isReadable(ca.certificate())) {
            throw new IllegalArgumentException("no CA in " + dir + " (expected ca.pem and ca.p12)");
        }
        return ca;
    }

    /** The CA's certificate, PEM: the trust bundle of every node it issues for. */
    public Path certificate() {
        return dir.resolve("ca.pem");
    }

    /** Issues a certificate for {@code nodeId} of {@code clusterId}, valid from now for a year. */
    public NodeFiles issue(Path nodeDir, String clusterId, String nodeId) {
        return issue(nodeDir, clusterId, nodeId, 0, 365);
    }

    /**
     * Issues a certificate for {@code nodeId} of {@code clusterId} into {@code nodeDir}, valid
     * from {@code startDaysFromNow} (negative: in the past) for {@code validityDays}. Its subject
     * alternative names are the URI {@link TlsConfig#nodeUri}, DNS {@code localhost} and IP
     * {@code 127.0.0.1}.
     *
     * @throws IllegalArgumentException if an id has characters other than letters, digits, '.', '_', '-'
     */
    public NodeFiles issue(Path nodeDir, String clusterId, String nodeId, int startDaysFromNow, int validityDays) {
        requirePlain("cluster id", clusterId);
        requirePlain("node id", nodeId);
        Path out = nodeDir.toAbsolutePath();
        Path keystore = out.resolve("node.p12");
        Path request = out.resolve("node.csr");
        Path signed = out.resolve("node.crt");
        try {
            Files.createDirectories(out);
            Files.deleteIfExists(keystore);
            keytool("-genkeypair", "-keystore", keystore.toString(), "-storetype", "PKCS12", "-storepass", PASSWORD,
                    "-alias", "node", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + nodeId);
            keytool("-certreq", "-keystore", keystore.toString(), "-storepass", PASSWORD, "-alias", "node",
                    "-file", request.toString());
            keytool("-gencert", "-keystore", keystore().toString(), "-storepass", PASSWORD, "-alias", CA_ALIAS,
                    "-infile", request.toString(), "-outfile", signed.toString(), "-rfc",
                    "-ext", "SAN=uri:" + TlsConfig.nodeUri(clusterId, nodeId) + ",dns:localhost,ip:127.0.0.1",
                    "-ext", "KU=digitalSignature", "-ext", "EKU=serverAuth,clientAuth",
                    "-startdate", (startDaysFromNow >= 0 ? "+" : "") + startDaysFromNow + "d",
                    "-validity", Integer.toString(validityDays));
            NodeFiles files = new NodeFiles(out.resolve("node.pem"), out.resolve("node.key"), certificate());
            Files.writeString(files.certificateChain(), Files.readString(signed, StandardCharsets.US_ASCII)
                    + Files.readString(certificate(), StandardCharsets.US_ASCII), StandardCharsets.US_ASCII);
            Files.writeString(files.privateKey(), pkcs8Pem(keystore), StandardCharsets.US_ASCII);
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the certificate of " + nodeId + " in " + out, e);
        } finally {
            for (Path p : List.of(keystore, request, signed)) {
                p.toFile().delete();
            }
        }
    }

    private Path keystore() {
        return dir.resolve("ca.p12");
    }

    /** The PKCS#12 key store's one key as unencrypted PKCS#8 PEM. */
    private static String pkcs8Pem(Path keystore) throws IOException {
        try (InputStream in = Files.newInputStream(keystore)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, PASSWORD.toCharArray());
            Key key = ks.getKey("node", PASSWORD.toCharArray());
            if (key == null || !"PKCS#8".equals(key.getFormat())) {
                throw new IllegalStateException("keytool wrote no PKCS#8 key to " + keystore);
            }
            String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                    .encodeToString(key.getEncoded());
            return "-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n";
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot read the key keytool wrote to " + keystore, e);
        }
    }

    private static void keytool(String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        // keytool is a short-lived JVM: start it as cheaply as possible.
        command.add("-J-XX:TieredStopAtLevel=1");
        command.add("-J-XX:+UseSerialGC");
        command.add("-noprompt");
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] output = p.getInputStream().readAllBytes();
            if (!p.waitFor(KEYTOOL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("keytool " + args[0] + " did not finish in " + KEYTOOL_TIMEOUT_SECONDS
                        + " s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("keytool " + args[0] + " failed (exit " + p.exitValue() + "): "
                        + new String(output, StandardCharsets.UTF_8).strip());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command.get(0), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running keytool", e);
        }
    }

    private static void requirePlain(String what, String value) {
        if (value == null || !PLAIN_ID.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " '" + value + "' must be 1 to 64 letters, digits, '.', '_' "
                    + "or '-' for a development certificate");
        }
    }
}
