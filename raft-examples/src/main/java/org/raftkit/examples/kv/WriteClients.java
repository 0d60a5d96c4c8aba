package org.raftkit.examples.kv;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load of {@code bench --mode replace} and {@code rolling-restart}: {@code clients} threads,
 * each with one keep-alive connection and one {@code PUT} in flight, that keep writing while nodes
 * die, restart, join and leave. Unlike {@link HttpLoad}, which needs every node up, a client whose
 * node closes the connection or refuses it moves on to the next node in the current list, and a
 * client answered 503 (no leader yet) tries again after {@link #BACKOFF_MILLIS}; every answer that
 * is not 2xx and every lost connection is counted. Followers forward writes, so any live node will do.
 *
 * <p>Client {@code i} writes its sequence number to key {@code bench-c<i>}: one write at a time,
 * so after the run the key must hold at least the last sequence number that was acknowledged
 * ({@link #lastAcknowledged}); less would be an acknowledged write lost.
 */
final class WriteClients {

    /** How long a client waits after a 503 or a lost connection before it tries again. */
    static final long BACKOFF_MILLIS = 5;
    /** A write not answered within this is counted as lost with its connection. */
    private static final int READ_TIMEOUT_MILLIS = 10_000;

    /** What went wrong with one attempt: an HTTP status, or the connection. */
    static final String CONNECTION_LOST = "connectionLostInFlight";
    static final String CONNECT_REFUSED = "connectRefused";

    private final int clients;
    private volatile List<InetSocketAddress> endpoints;
    private final int firstEndpoint;
    private final boolean spread;
    private volatile boolean running;
    private final List<Thread> threads = new ArrayList<>();
    /** Per client: completion time (ns) and latency (µs) and send time (ns) of each acknowledged write. */
    private final long[][] doneAt;
    private final long[][] latencyMicros;
    private final long[][] sentAt;
    private final int[] acknowledged;
    private final long[] lastAcknowledged;
    private final Map<String, AtomicLong> errors = new ConcurrentHashMap<>();

    /**
     * @param endpoints     the nodes' HTTP addresses
     * @param firstEndpoint where every client starts (the leader), unless {@code spread}
     * @param spread        client {@code i} starts at endpoint {@code i % size} instead
     */
    WriteClients(int clients, List<InetSocketAddress> endpoints, int firstEndpoint, boolean spread) {
        this.clients = clients;
        this.endpoints = List.copyOf(endpoints);
        this.firstEndpoint = firstEndpoint;
        this.spread = spread;
        this.doneAt = new long[clients][1 << 12];
        this.latencyMicros = new long[clients][1 << 12];
        this.sentAt = new long[clients][1 << 12];
        this.acknowledged = new int[clients];
        this.lastAcknowledged = new long[clients];
    }

    /** Replaces the nodes clients move on to (a node joined or left); a client's current connection stays. */
    void endpoints(List<InetSocketAddress> now) {
        endpoints = List.copyOf(now);
    }

    void start() {
        running = true;
        for (int i = 0; i < clients; i++) {
            int client = i;
            Thread t = new Thread(() -> loop(client), "bench-client-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    /** Stops the clients and waits for them; the results are then stable. */
    void stop() throws InterruptedException {
        running = false;
        for (Thread t : threads) {
            t.join(READ_TIMEOUT_MILLIS + 1_000);
        }
    }

    private void loop(int client) {
        int at = spread ? client : firstEndpoint;
        Socket socket = null;
        OutputStream out = null;
        InputStream in = null;
        long seq = 0;
        byte[] path = ("PUT " + KvHttpHandler.KV_PREFIX + "bench-c" + client + " HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        while (running) {
            seq++;
            byte[] value = Long.toString(seq).getBytes(StandardCharsets.US_ASCII);
            boolean sent = false;
            long start = System.nanoTime();
            try {
                if (socket == null) {
                    List<InetSocketAddress> now = endpoints;
                    socket = new Socket();
                    socket.setTcpNoDelay(true);
                    socket.setSoTimeout(READ_TIMEOUT_MILLIS);
                    socket.connect(now.get(Math.floorMod(at, now.size())), 500);
                    out = socket.getOutputStream();
                    in = new BufferedInputStream(socket.getInputStream());
                }
                ByteArrayOutputStream request = new ByteArrayOutputStream(96);
                request.write(path);
                request.write(("Content-Length: " + value.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                request.write(value);
                start = System.nanoTime();
                out.write(request.toByteArray());
                out.flush();
                sent = true;
                int response = readResponse(in);
                long done = System.nanoTime();
                int status = Math.abs(response);
                if (response < 0) {
                    // "Connection: close": the node (stopping gracefully) reads nothing more on it.
                    closeQuietly(socket);
                    socket = null;
                }
                if (status / 100 == 2) {
                    record(client, start, done);
                    lastAcknowledged[client] = seq;
                    continue;
                }
                count(Integer.toString(status));
            } catch (IOException e) {
                count(sent ? CONNECTION_LOST : CONNECT_REFUSED);
                closeQuietly(socket);
                socket = null;
                at++;
            }
            try {
                Thread.sleep(BACKOFF_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
        closeQuietly(socket);
    }

    private void record(int client, long sent, long done) {
        int n = acknowledged[client];
        if (n == doneAt[client].length) {
            doneAt[client] = Arrays.copyOf(doneAt[client], n * 2);
            latencyMicros[client] = Arrays.copyOf(latencyMicros[client], n * 2);
            sentAt[client] = Arrays.copyOf(sentAt[client], n * 2);
        }
        doneAt[client][n] = done;
        sentAt[client][n] = sent;
        latencyMicros[client][n] = (done - sent) / 1_000;
        acknowledged[client] = n + 1;
    }

    private void count(String what) {
        errors.computeIfAbsent(what, k -> new AtomicLong()).incrementAndGet();
    }

    /**
     * Reads one response (status line, headers, {@code Content-Length} body); returns its status,
     * negated if the response says {@code Connection: close}.
     */
    private static int readResponse(InputStream in) throws IOException {
        String statusLine = line(in);
        if (statusLine.length() < 12) {
            throw new IOException("no status line: " + statusLine);
        }
        int status = Integer.parseInt(statusLine.substring(9, 12));
        int length = 0;
        boolean close = false;
        for (String header = line(in); !header.isEmpty(); header = line(in)) {
            if (header.regionMatches(true, 0, "content-length:", 0, 15)) {
                length = Integer.parseInt(header.substring(15).trim());
            } else if (header.regionMatches(true, 0, "connection:", 0, 11)) {
                close = header.substring(11).trim().equalsIgnoreCase("close");
            }
        }
        in.skipNBytes(length); // EOFException if the connection closes in the body
        return close ? -status : status;
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                throw new IOException("connection closed");
            }
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }

    private static void closeQuietly(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // Closing a broken connection: nothing to do.
            }
        }
    }

    // ---- results, once stopped -------------------------------------------------------------------

    /** Client {@code i}'s last acknowledged sequence number (0: none). */
    long lastAcknowledged(int client) {
        return lastAcknowledged[client];
    }

    int clients() {
        return clients;
    }

    /** Failed attempts by kind (an HTTP status, or {@link #CONNECTION_LOST}, {@link #CONNECT_REFUSED}). */
    Map<String, Long> errors() {
        Map<String, Long> all = new TreeMap<>();
        errors.forEach((k, v) -> all.put(k, v.get()));
        return all;
    }

    /** The completion times (ns) of every acknowledged write, sorted. */
    long[] completions() {
        int total = 0;
        for (int n : acknowledged) {
            total += n;
        }
        long[] all = new long[total];
        int at = 0;
        for (int c = 0; c < clients; c++) {
            System.arraycopy(doneAt[c], 0, all, at, acknowledged[c]);
            at += acknowledged[c];
        }
        Arrays.sort(all);
        return all;
    }

    /** Latencies (µs, sorted) of the acknowledged writes sent in {@code [fromNanos, toNanos)}. */
    long[] latencies(long fromNanos, long toNanos) {
        long[] picked = new long[64];
        int n = 0;
        for (int c = 0; c < clients; c++) {
            for (int i = 0; i < acknowledged[c]; i++) {
                long s = sentAt[c][i];
                if (s - fromNanos >= 0 && s - toNanos < 0) {
                    if (n == picked.length) {
                        picked = Arrays.copyOf(picked, n * 2);
                    }
                    picked[n++] = latencyMicros[c][i];
                }
            }
        }
        long[] sorted = Arrays.copyOf(picked, n);
        Arrays.sort(sorted);
        return sorted;
    }
}
