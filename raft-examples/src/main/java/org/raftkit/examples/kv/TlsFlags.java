package org.raftkit.examples.kv;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.raftkit.transport.netty.TlsConfig;
import org.raftkit.transport.netty.tls.DevCertificates;
import org.raftkit.transport.netty.tls.DevCertificates.NodeFiles;

/**
 * The TLS flags of {@code serve}, {@code cluster} and {@code bench}: mutual TLS on the Raft port
 * from {@code --tls-cert}, {@code --tls-key} and {@code --tls-ca} (PEM files; see
 * {@link TlsConfig#mutual}), or, for {@code cluster --tls} and {@code bench --tls}, throwaway
 * certificates made on the spot by {@link DevCertificates}. A node with an HTTP API serves it
 * over HTTPS with the same files ({@link HttpTls#sameAs}); the throwaway node certificates name
 * {@code 127.0.0.1} and {@code localhost}, where {@code cluster} puts every node's API, so an HTTPS
 * client that trusts {@code ca.pem} accepts them.
 */
final class TlsFlags {

    /** The file flags; {@code {id}} in a value stands for the node's id (for {@code cluster}). */
    static final Set<String> FILE_FLAGS = Set.of("tls-cert", "tls-key", "tls-ca");
    /** The switch that makes throwaway certificates. */
    static final String GENERATE = "tls";
    /** Where a node's throwaway certificate and key go, under its data directory. */
    static final String NODE_SUBDIRECTORY = "tls";

    private TlsFlags() {
    }

    /** Whether any of the file flags was given. */
    static boolean filesGiven(Flags f) {
        return FILE_FLAGS.stream().anyMatch(name -> f.string(name, null) != null);
    }

    /**
     * Node {@code nodeId}'s TLS from the file flags: plaintext if none is given, mutual TLS if all
     * three are, a usage error otherwise. {@code {id}} in a value is replaced by {@code nodeId}.
     */
    static TlsConfig fromFiles(Flags f, String nodeId) {
        if (!filesGiven(f)) {
            return TlsConfig.plaintext();
        }
        Path[] files = new Path[3];
        int i = 0;
        for (String name : List.of("tls-cert", "tls-key", "tls-ca")) {
            String value = f.string(name, null);
            if (value == null) {
                throw new Flags.UsageException("TLS needs all of --tls-cert, --tls-key and --tls-ca; --" + name
                        + " is missing");
            }
            files[i++] = Path.of(value.replace("{id}", nodeId));
        }
        return TlsConfig.mutual(files[0], files[1], files[2]);
    }

    /**
     * Throwaway certificates for {@code ids} of {@code clusterId}: the CA as {@code dir/ca.pem}
     * (its key in {@code dir/ca.p12}), each node's certificate and key in
     * {@code dir/<id>/tls/}. What is already there from an earlier run is reused, so a restarted
     * cluster keeps its certificates.
     */
    static Map<String, TlsConfig> throwaway(Path dir, String clusterId, List<String> ids, PrintStream out) {
        boolean reuse = Files.isReadable(dir.resolve("ca.pem")) && Files.isReadable(dir.resolve("ca.p12"));
        DevCertificates ca = reuse ? DevCertificates.openAuthority(dir)
                : DevCertificates.createAuthority(dir, clusterId + "-throwaway-ca");
        if (!reuse) {
            out.println("made a throwaway CA for TLS: " + ca.certificate()
                    + " (its key is next to it: for trying TLS out only)");
        }
        Map<String, TlsConfig> configs = new LinkedHashMap<>();
        for (String id : ids) {
            Path nodeDir = dir.resolve(id).resolve(NODE_SUBDIRECTORY);
            NodeFiles files = new NodeFiles(nodeDir.resolve("node.pem"), nodeDir.resolve("node.key"), ca.certificate());
            if (!reuse || !Files.isReadable(files.certificateChain()) || !Files.isReadable(files.privateKey())) {
                files = ca.issue(nodeDir, clusterId, id);
            }
            configs.put(id, files.tlsConfig());
        }
        return configs;
    }

    /** The {@code serve} flags that pass {@code tls} on to a child process; none for plaintext. */
    static List<String> serveArgs(TlsConfig tls) {
        if (!tls.enabled()) {
            return List.of();
        }
        return List.of("--tls-cert", tls.certificateChainFile().toString(), "--tls-key",
                tls.privateKeyFile().toString(), "--tls-ca", tls.trustedCertificatesFile().toString());
    }
}
