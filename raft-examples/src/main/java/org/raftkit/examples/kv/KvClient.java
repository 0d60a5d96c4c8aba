package org.raftkit.examples.kv;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The command-line client: {@code put}, {@code get}, {@code delete}, {@code status},
 * {@code snapshot}, {@code member …} and {@code transfer-leader} against the HTTP API. It tries the endpoints in turn, moving on when a node is down or answers 503 (no
 * leader yet, busy), and keeps cycling until its deadline, so it follows the cluster through a
 * leader's crash. A 504 is never retried: the write may have happened.
 *
 * <p>{@code https://} endpoints are checked against {@code --cacert} (a PEM CA bundle, see
 * {@link CaBundle}) or, without it, the JDK's default CAs. A certificate that is not accepted is
 * a configuration mistake, not an outage: the client stops at once and says so.
 */
final class KvClient {

    static final String DEFAULT_ENDPOINTS = "http://127.0.0.1:8001,http://127.0.0.1:8002,http://127.0.0.1:8003";

    /** What went wrong, printed as one line; the process exits with 1. */
    static final class ClientException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ClientException(String message) {
            super(message, null, false, false);
        }
    }

    private final List<URI> endpoints;
    private final long deadlineNanos;
    /** The {@code --cacert} file, or null for the JDK's default CAs. */
    private final Path caFile;
    private final HttpClient http;

    /** A client that trusts the JDK's default CAs for https:// endpoints. */
    KvClient(List<URI> endpoints, long timeoutMillis) {
        this(endpoints, timeoutMillis, null);
    }

    /**
     * @param caFile the PEM CAs to trust for https:// endpoints ({@code --cacert}), or null for the
     *               JDK's default ones
     * @throws IllegalArgumentException naming {@code --cacert} and the file if it is missing,
     *                                  unreadable or holds no certificate
     */
    KvClient(List<URI> endpoints, long timeoutMillis, Path caFile) {
        this.endpoints = endpoints;
        this.deadlineNanos = System.nanoTime() + timeoutMillis * 1_000_000L;
        this.caFile = caFile;
        HttpClient.Builder builder = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(1))
                .version(HttpClient.Version.HTTP_1_1);
        if (caFile != null) {
            builder.sslContext(CaBundle.trustOnly(caFile, "--cacert"));
        }
        this.http = builder.build();
    }

    /** Parses {@code --endpoints}: http:// or https:// URLs separated by commas. */
    static List<URI> endpoints(String flag) {
        List<URI> uris = new ArrayList<>();
        for (String part : flag.split(",")) {
            String s = part.trim();
            if (!s.startsWith("http://") && !s.startsWith("https://")) {
                throw new Flags.UsageException("--endpoints must be http:// or https:// URLs separated by commas, got '"
                        + s + "'");
            }
            try {
                uris.add(URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s));
            } catch (IllegalArgumentException e) {
                throw new Flags.UsageException("--endpoints has a bad URL '" + s + "': " + e.getMessage());
            }
        }
        return uris;
    }

    /** {@code put KEY VALUE}: prints the new revision. */
    void put(String key, byte[] value, String ifMatch, String ifNoneMatch, PrintStream out) {
        HttpResponse<byte[]> r = send("PUT", kvPath(key), HttpRequest.BodyPublishers.ofByteArray(value),
                ifMatch, ifNoneMatch);
        expect(r, 200, key);
        out.println("OK revision=" + Json.field(body(r), "revision"));
    }

    /** {@code get KEY}: prints the value. {@code consistency}: linearizable, lease or stale. */
    void get(String key, String consistency, PrintStream out) {
        String path = kvPath(key) + (consistency.equals("linearizable") ? "" : "?consistency=" + consistency);
        HttpResponse<byte[]> r = send("GET", path, HttpRequest.BodyPublishers.noBody(), null, null);
        expect(r, 200, key);
        out.write(r.body(), 0, r.body().length);
        out.println();
    }

    /** {@code delete KEY}. */
    void delete(String key, String ifMatch, PrintStream out) {
        HttpResponse<byte[]> r = send("DELETE", kvPath(key), HttpRequest.BodyPublishers.noBody(), ifMatch, null);
        expect(r, 204, key);
        out.println("OK deleted " + key);
    }

    /**
     * {@code snapshot}: has the first node that answers take a snapshot (a snapshot is one node's,
     * so give one endpoint to choose the node); prints its id and the snapshot's index.
     */
    void snapshot(PrintStream out) {
        HttpResponse<byte[]> r = send("POST", KvHttpHandler.SNAPSHOT_PATH, HttpRequest.BodyPublishers.noBody(), null, null);
        String json = body(r);
        if (r.statusCode() != 200) {
            String message = Json.field(json, "message");
            throw new ClientException(r.statusCode() + " " + (message != null ? message : json));
        }
        out.println("OK " + Json.field(json, "id") + " snapshotIndex=" + Json.field(json, "snapshotIndex")
                + " firstLogIndex=" + Json.field(json, "firstLogIndex"));
    }

    /**
     * {@code member list}: the configuration index, then one line per member:
     * {@code n1 voter 127.0.0.1:7001}. Any node answers (its view of the configuration).
     */
    void memberList(PrintStream out) {
        HttpResponse<byte[]> r = send("GET", MembersApi.MEMBERS_PATH, HttpRequest.BodyPublishers.noBody(), null, null);
        expectMembers(r);
        printMembers(body(r), out);
    }

    /** {@code member add}: adds the node (as a learner, or as a voter once caught up); prints the new members. */
    void memberAdd(String id, String raft, boolean learner, PrintStream out) {
        String body = "{\"id\":" + Json.quote(id) + ",\"raft\":" + Json.quote(raft) + ",\"learner\":" + learner + "}";
        HttpResponse<byte[]> r = send("POST", MembersApi.MEMBERS_PATH, HttpRequest.BodyPublishers.ofString(body),
                null, null);
        expectMembers(r);
        out.println("OK added " + id + " as a " + (learner ? "learner" : "voter"));
        printMembers(body(r), out);
    }

    /** {@code member promote}: the learner becomes a voter; prints the new members. */
    void memberPromote(String id, PrintStream out) {
        HttpResponse<byte[]> r = send("POST", MembersApi.MEMBERS_PATH + "/" + id + "/promote",
                HttpRequest.BodyPublishers.noBody(), null, null);
        expectMembers(r);
        out.println("OK promoted " + id + " to voter");
        printMembers(body(r), out);
    }

    /** {@code member remove}: prints the new members. */
    void memberRemove(String id, PrintStream out) {
        HttpResponse<byte[]> r = send("DELETE", MembersApi.MEMBERS_PATH + "/" + id,
                HttpRequest.BodyPublishers.noBody(), null, null);
        expectMembers(r);
        out.println("OK removed " + id);
        printMembers(body(r), out);
    }

    /** {@code transfer-leader --to ID}: prints the new leader. */
    void transferLeader(String to, PrintStream out) {
        HttpResponse<byte[]> r = send("POST", MembersApi.LEADER_PATH,
                HttpRequest.BodyPublishers.ofString("{\"id\":" + Json.quote(to) + "}"), null, null);
        if (r.statusCode() != 200) {
            fail(r);
        }
        out.println("OK leader is now " + Json.field(body(r), "leader"));
    }

    private void expectMembers(HttpResponse<byte[]> r) {
        if (r.statusCode() != 200) {
            fail(r);
        }
    }

    private static void fail(HttpResponse<byte[]> r) {
        String json = body(r);
        String code = Json.field(json, "error");
        String message = Json.field(json, "message");
        throw new ClientException(r.statusCode() + (code == null ? "" : " " + code) + ": "
                + (message != null ? message : json));
    }

    /**
     * Prints a {@code /v1/members} document: {@code configuration index=N[ (joint)]}, then
     * {@code ID KIND RAFT} per member.
     */
    static void printMembers(String json, PrintStream out) {
        out.println("configuration index=" + Json.field(json, "index")
                + ("true".equals(Json.field(json, "joint")) ? " (joint: a change is half done)" : ""));
        int at = json.indexOf("\"members\":[");
        if (at < 0) {
            return;
        }
        for (String member : json.substring(at).split("\\{")) {
            String id = Json.field("{" + member, "id");
            if (id != null) {
                String raft = Json.field("{" + member, "raft");
                out.printf("%-8s %-7s %s%n", id, Json.field("{" + member, "kind"), raft == null ? "(address unknown)" : raft);
            }
        }
    }

    /** {@code status}: one line per endpoint; fails only if none answers. */
    void status(PrintStream out) {
        int answered = 0;
        String certificateProblem = null;
        for (URI endpoint : endpoints) {
            try {
                HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(endpoint.resolve(KvHttpHandler.STATUS_PATH))
                        .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
                String json = body(r);
                answered++;
                String receiving = Json.field(json, "snapshotReceivedBytes");
                out.printf("%-24s %-3s %-13s term=%-4s leader=%-4s commit=%s applied=%s last=%s first=%s snapshot=%s%s%n",
                        endpoint, Json.field(json, "id"), Json.field(json, "role"), Json.field(json, "term"),
                        Json.field(json, "leader"), Json.field(json, "commitIndex"),
                        Json.field(json, "appliedIndex"), Json.field(json, "lastLogIndex"),
                        Json.field(json, "firstLogIndex"), Json.field(json, "snapshotIndex"),
                        receiving == null ? "" : " receiving=" + receiving + "B");
            } catch (IOException e) {
                if (CaBundle.isCertificateFailure(e)) {
                    certificateProblem = certificateProblem(endpoint, e);
                    out.printf("%-24s unreachable (certificate not accepted)%n", endpoint);
                } else {
                    out.printf("%-24s unreachable (%s)%n", endpoint, describe(e));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ClientException("interrupted");
            }
        }
        if (answered == 0) {
            throw new ClientException(certificateProblem != null ? certificateProblem
                    : "no endpoint answered: " + endpoints);
        }
    }

    private static String kvPath(String key) {
        if (key.isEmpty()) {
            throw new Flags.UsageException("the key must not be empty");
        }
        return KvHttpHandler.KV_PREFIX + encode(key);
    }

    private static String encode(String key) {
        StringBuilder b = new StringBuilder();
        for (byte c : key.getBytes(StandardCharsets.UTF_8)) {
            int u = c & 0xff;
            if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || "-._~".indexOf(u) >= 0) {
                b.append((char) u);
            } else {
                b.append('%').append(String.format("%02X", u));
            }
        }
        return b.toString();
    }

    /**
     * Sends to each endpoint in turn until one answers something other than 503, cycling until
     * the deadline. Connection failures and 503 mean the request had no effect, so moving on is safe.
     */
    private HttpResponse<byte[]> send(String method, String path, HttpRequest.BodyPublisher body,
                                      String ifMatch, String ifNoneMatch) {
        String lastProblem = "no endpoints";
        long backoffMillis = 50;
        while (true) {
            for (URI endpoint : endpoints) {
                long remainingMillis = (deadlineNanos - System.nanoTime()) / 1_000_000L;
                if (remainingMillis <= 0) {
                    throw new ClientException("gave up after trying every endpoint: " + lastProblem);
                }
                HttpRequest.Builder request = HttpRequest.newBuilder(endpoint.resolve(path))
                        .timeout(Duration.ofMillis(remainingMillis))
                        .method(method, body);
                if (ifMatch != null) {
                    request.header("If-Match", ifMatch);
                }
                if (ifNoneMatch != null) {
                    request.header("If-None-Match", ifNoneMatch);
                }
                try {
                    HttpResponse<byte[]> r = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
                    if (r.statusCode() != 503) {
                        return r;
                    }
                    lastProblem = endpoint + " answered 503: " + Json.field(body(r), "message");
                } catch (java.net.http.HttpTimeoutException e) {
                    throw new ClientException(endpoint + " did not answer in time; "
                            + (method.equals("GET") ? "try again" : "the write may or may not have happened"));
                } catch (IOException e) {
                    if (CaBundle.isCertificateFailure(e)) {
                        // Retrying cannot help, and the request never reached the API.
                        throw new ClientException(certificateProblem(endpoint, e));
                    }
                    lastProblem = endpoint + " is unreachable (" + describe(e) + ")";
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ClientException("interrupted");
                }
            }
            try {
                Thread.sleep(backoffMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ClientException("interrupted");
            }
            backoffMillis = Math.min(backoffMillis * 2, 500);
        }
    }

    private static void expect(HttpResponse<byte[]> r, int expected, String key) {
        if (r.statusCode() == expected) {
            return;
        }
        String json = body(r);
        String message = Json.field(json, "message");
        throw new ClientException(r.statusCode() + " " + (message != null ? message : json) + " (key " + key + ")");
    }

    private static String body(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    /**
     * Why {@code endpoint}'s certificate was refused and what to do: without {@code --cacert} the
     * usual cause is a private CA (such as the one {@code cluster --tls} makes).
     */
    private String certificateProblem(URI endpoint, IOException e) {
        String reason = CaBundle.reason(e);
        if (caFile == null) {
            return "the HTTPS certificate of " + endpoint + " is not trusted (" + reason + "); pass the CA that "
                    + "issued it with --cacert FILE (for 'cluster --tls': --cacert DIR/ca.pem)";
        }
        return "the HTTPS certificate of " + endpoint + " is not trusted by --cacert " + caFile + " (" + reason
                + "); is it the CA that issued the node's certificate, and does the certificate name the host "
                + endpoint.getHost() + "?";
    }

    private static String describe(IOException e) {
        if (e instanceof java.net.ConnectException) {
            return "connection refused";
        }
        String m = e.getMessage();
        return m == null || m.isEmpty() ? e.getClass().getSimpleName() : m;
    }
}
