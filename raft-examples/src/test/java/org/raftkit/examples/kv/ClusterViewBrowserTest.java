package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.runtime.Await;

/**
 * The cluster view in a real headless browser (Debian's chromium) against {@code raft-kv cluster}
 * as an operator runs it: three node processes. The page renders, shows the leader, and once a
 * node is killed with -9 shows it as down while the launcher prints the command that restarts it.
 * Skipped, saying so, where {@code /usr/bin/chromium} is not installed. With {@code --tls} the
 * launcher's output, the CLI and the HTTPS cluster view are checked everywhere, the page in the
 * browser only where there is one.
 */
class ClusterViewBrowserTest {

    /** Debian's chromium; {@code RAFTKIT_CHROMIUM} names another binary (or a missing one, to see the skip). */
    private static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("RAFTKIT_CHROMIUM", "/usr/bin/chromium"));
    private static final Duration DEADLINE = Duration.ofSeconds(60);
    private static final Pattern ROW = Pattern.compile("<tr id=\"node-(n\\d)\"([^>]*)>");
    private static final Pattern PID = Pattern.compile("(?m)^(n\\d)\\s+(\\d+)\\s");

    @TempDir
    Path dir;

    @Test
    void thePageShowsTheLeaderAndAKilledNodeAsDown() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM), "no " + CHROMIUM + " (apt-get install chromium): browser test skipped");
        int httpPort = freeRange(3);
        int raftPort = freeRange(3);
        Process cluster = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), KvMain.class.getName(), "cluster",
                "--dir", dir.resolve("data").toString(), "--http-port", Integer.toString(httpPort),
                "--raft-port", Integer.toString(raftPort), "--fsync", "false")
                .redirectErrorStream(true).start();
        StringBuffer out = new StringBuffer();
        Thread reader = drain(cluster.getInputStream(), out);
        try {
            Await.await(DEADLINE, () -> out.indexOf("Ctrl-C stops the cluster") >= 0, () -> "the cluster table:\n" + out);
            String page = "http://127.0.0.1:" + httpPort + "/";

            // The page polls every second: wait until it shows every node up and one leader.
            String[] shown = new String[1];
            Await.await(DEADLINE, () -> {
                shown[0] = chromium("--dump-dom", page);
                return rowsWith(shown[0], "data-up=\"true\"").size() == 3
                        && rowsWith(shown[0], "data-role=\"leader\"").size() == 1;
            }, () -> "the page to show three nodes up and one leader:\n" + shown[0]);
            String dom = shown[0];
            List<String> leaders = rowsWith(dom, "data-role=\"leader\"");
            assertThat(dom).contains("<b id=\"leader\">" + leaders.get(0) + "</b>");
            assertThat(rowsWith(dom, "data-up=\"true\"")).containsExactly("n1", "n2", "n3");

            // Kill a node other than the one serving the page (n1), as kill -9 would.
            String victim = leaders.get(0).equals("n3") ? "n2" : "n3";
            long pid = pidOf(out.toString(), victim);
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            // The launcher's printf reaches the stream piece by piece: wait for the whole line.
            java.util.regex.Pattern restart = java.util.regex.Pattern.compile(
                    "restart it with: \\S*java .*serve --id " + victim + " ");
            Await.await(DEADLINE, () -> out.indexOf("node " + victim + " (pid " + pid + ") exited") >= 0
                    && restart.matcher(out.toString()).find(), () -> "the launcher to report " + victim + ":\n" + out);
            assertThat(out.toString()).containsPattern(restart);

            String[] after = new String[1];
            Await.await(DEADLINE, () -> {
                after[0] = chromium("--dump-dom", page);
                return rowsWith(after[0], "data-role=\"down\"").equals(List.of(victim));
            }, () -> victim + " shown as down:\n" + after[0]);
            assertThat(after[0]).contains("does not answer");
            chromium("--screenshot=" + Path.of("target", "cluster-view.png").toAbsolutePath(), "--window-size=1100,520",
                    page);
        } finally {
            cluster.destroy(); // SIGTERM: the launcher stops its nodes
            if (!cluster.waitFor(20, TimeUnit.SECONDS)) {
                cluster.destroyForcibly();
            }
            reader.join(TimeUnit.SECONDS.toMillis(5));
        }
    }

    /**
     * {@code cluster --tls} as a new user runs it: the launcher waits for a leader over HTTPS,
     * prints https URLs and how to trust the throwaway CA, the CLI works with exactly what it
     * printed, and the cluster view (asked over HTTPS, and in the browser where there is one)
     * shows all three nodes up with https links.
     */
    @Test
    void withTlsTheLauncherPrintsHttpsUrlsAndHowToTrustTheCa() throws Exception {
        int httpPort = freeRange(3);
        int raftPort = freeRange(3);
        Path data = dir.resolve("data");
        Process cluster = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), KvMain.class.getName(), "cluster", "--tls",
                "--dir", data.toString(), "--http-port", Integer.toString(httpPort),
                "--raft-port", Integer.toString(raftPort), "--fsync", "false")
                .redirectErrorStream(true).start();
        StringBuffer out = new StringBuffer();
        Thread reader = drain(cluster.getInputStream(), out);
        try {
            // Making the certificates runs keytool a dozen times before any node starts.
            Await.await(DEADLINE.multipliedBy(2), () -> out.indexOf("Ctrl-C stops the cluster") >= 0,
                    () -> "the cluster table:\n" + out);
            String printed = out.toString();
            Path ca = data.resolve("ca.pem");
            List<String> urls = List.of(1, 2, 3).stream().map(i -> "https://127.0.0.1:" + (httpPort + i - 1)).toList();
            for (String url : urls) {
                assertThat(printed).containsPattern("(?m)^n\\d\\s+\\d+\\s+" + Pattern.quote(url) + "\\s");
            }
            assertThat(printed).contains("curl --cacert " + ca + " -XPUT " + urls.get(0) + "/v1/kv/hello")
                    .contains("Watch it live: " + urls.get(0) + "/").doesNotContain("http://");
            Matcher cli = Pattern.compile("The CLI: java -jar raft-kv.jar get hello (--cacert \\S+) (--endpoints \\S+)")
                    .matcher(printed);
            assertThat(cli.find()).as(printed).isTrue();
            assertThat(cli.group(1)).isEqualTo("--cacert " + ca);
            assertThat(cli.group(2)).isEqualTo("--endpoints " + String.join(",", urls));

            // The CLI line as printed, once a PUT has given it something to get.
            String[] flags = (cli.group(1) + " " + cli.group(2)).split(" ");
            ByteArrayOutputStream cliOut = new ByteArrayOutputStream();
            PrintStream cliPrint = new PrintStream(cliOut, true, StandardCharsets.UTF_8);
            assertThat(KvMain.run(concat(new String[] {"put", "hello", "world"}, flags), cliPrint, cliPrint))
                    .as(cliOut.toString(StandardCharsets.UTF_8)).isZero();
            cliOut.reset();
            assertThat(KvMain.run(concat(new String[] {"get", "hello"}, flags), cliPrint, cliPrint)).isZero();
            assertThat(cliOut.toString(StandardCharsets.UTF_8)).isEqualTo("world" + System.lineSeparator());

            java.net.http.HttpClient https = java.net.http.HttpClient.newBuilder()
                    .sslContext(CaBundle.trustOnly(ca, "the test's CA")).build();
            String[] json = new String[1];
            Await.await(DEADLINE, () -> {
                try {
                    json[0] = https.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(urls.get(0)
                            + ClusterView.CLUSTER_PATH)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
                } catch (IOException | InterruptedException e) {
                    throw new AssertionError(e);
                }
                return json[0].split("\"up\":true", -1).length - 1 == 3;
            }, () -> "three members up over HTTPS: " + json[0]);

            if (Files.isExecutable(CHROMIUM)) {
                // The browser is told to accept n1's key, which serves the page (and, same-origin,
                // /v1/cluster): as if the user had imported ca.pem.
                String page = urls.get(0) + "/";
                String accept = "--ignore-certificate-errors-spki-list=" + spkiHash(data.resolve("n1/tls/node.pem"));
                String[] shown = new String[1];
                Await.await(DEADLINE, () -> {
                    shown[0] = chromium(accept, "--dump-dom", page);
                    return rowsWith(shown[0], "data-up=\"true\"").size() == 3;
                }, () -> "the HTTPS page to show three nodes up:\n" + shown[0]);
                for (String url : urls) {
                    assertThat(shown[0]).contains("<a href=\"" + url + "/\">");
                }
                chromium(accept, "--screenshot=" + Path.of("target", "cluster-view-https.png").toAbsolutePath(),
                        "--window-size=1100,360", page);
            }
        } finally {
            cluster.destroy(); // SIGTERM: the launcher stops its nodes
            if (!cluster.waitFor(20, TimeUnit.SECONDS)) {
                cluster.destroyForcibly();
            }
            reader.join(TimeUnit.SECONDS.toMillis(5));
        }
    }

    /** Chromium's pin for a certificate: base64 of the SHA-256 of its public key (SubjectPublicKeyInfo). */
    private static String spkiHash(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            java.security.cert.Certificate cert = java.security.cert.CertificateFactory.getInstance("X.509")
                    .generateCertificate(in);
            return java.util.Base64.getEncoder().encodeToString(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(cert.getPublicKey().getEncoded()));
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** Runs headless chromium on a fresh profile with {@code args}; returns what it printed. */
    private String chromium(String... args) {
        List<String> command = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--user-data-dir=" + dir.resolve("chrome-" + System.nanoTime()),
                // Lets the page poll a few times (virtual time waits for each fetch) before the dump.
                "--virtual-time-budget=3500"));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectError(dir.resolve("chromium.err").toFile()).start();
            StringBuffer printed = new StringBuffer();
            Thread reader = drain(p.getInputStream(), printed);
            if (!p.waitFor(DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("chromium did not finish within " + DEADLINE);
            }
            reader.join(TimeUnit.SECONDS.toMillis(5));
            return printed.toString();
        } catch (IOException e) {
            throw new AssertionError("cannot run " + CHROMIUM, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The ids of the member rows whose attributes contain {@code attribute}. */
    private static List<String> rowsWith(String dom, String attribute) {
        List<String> ids = new ArrayList<>();
        Matcher m = ROW.matcher(dom);
        while (m.find()) {
            if (m.group(2).contains(attribute)) {
                ids.add(m.group(1));
            }
        }
        return ids;
    }

    private static long pidOf(String table, String id) {
        Matcher m = PID.matcher(table);
        while (m.find()) {
            if (m.group(1).equals(id)) {
                return Long.parseLong(m.group(2));
            }
        }
        throw new AssertionError("no pid for " + id + " in:\n" + table);
    }

    private static Thread drain(InputStream in, StringBuffer into) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    into.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                // The process ended.
            }
        }, "drain");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** The first of {@code count} consecutive free ports on loopback, from a random start. */
    private static int freeRange(int count) throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            int first = ThreadLocalRandom.current().nextInt(20_000, 40_000);
            List<ServerSocket> held = new ArrayList<>();
            try {
                for (int i = 0; i < count; i++) {
                    ServerSocket s = new ServerSocket();
                    held.add(s);
                    s.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), first + i));
                }
                return first;
            } catch (IOException taken) {
                // Try another range.
            } finally {
                for (ServerSocket s : held) {
                    s.close();
                }
            }
        }
        throw new IOException("no " + count + " consecutive free ports");
    }
}
