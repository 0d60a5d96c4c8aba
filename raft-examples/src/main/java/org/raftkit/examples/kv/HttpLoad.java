package org.raftkit.examples.kv;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The load generator of {@code bench --mode processes}: keeps a fixed number of KV {@code PUT}s in
 * flight against the nodes' HTTP API, over a few keep-alive connections with requests pipelined
 * on each (HTTP/1.1; the node answers in order, {@link KvHttpHandler}). One thread and one
 * selector, no client library, a few small arrays per request: the generator should cost little
 * next to the nodes, and its own CPU is reported apart from theirs.
 *
 * <p>Each completion sends the next request on the same connection. Responses are read as status line, headers (only {@code Content-Length} matters) and
 * body. Not thread-safe: {@link #run} owns it.
 */
final class HttpLoad {

    /** What the driver wants to know about the run, called on the generator's thread. */
    interface Window {
        /** The measured window starts now (after the warm-up). */
        void opened();

        /** The measured window ends now; no later completion counts. */
        void closed();
    }

    /**
     * The counts and latencies of the measured window: sorted, and in the order the answers came
     * with each request's send time ({@link System#nanoTime}), so that a driver can cut the window
     * into phases.
     */
    record Result(long completed, long failed, java.util.Map<Integer, Long> failedByStatus, long[] sortedLatencyMicros,
                  long windowNanos, long[] latencyMicros, long[] sentAtNanos) {
    }

    /** Distinct keys written by default, so the map stays a realistic size without growing without end. */
    static final int DEFAULT_KEYS = 100_000;
    private static final byte[] CRLF2 = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final List<InetSocketAddress> targets;
    private final int connections;
    private final int inFlight;
    private final int keys;
    private final byte[] value;
    private volatile boolean stopping;
    private volatile Selector running;

    /**
     * @param targets     the nodes to send to; connections go round-robin over them
     * @param connections keep-alive connections (at most one per 64 requests in flight pays: the
     *                    node reads at most 64 pipelined requests per connection)
     * @param inFlight    requests in flight over all connections
     * @param valueBytes  the size of each {@code PUT}'s value
     */
    HttpLoad(List<InetSocketAddress> targets, int connections, int inFlight, int valueBytes) {
        this(targets, connections, inFlight, valueBytes, DEFAULT_KEYS);
    }

    /** As above, writing keys {@code key-0} to {@code key-(keys - 1)} in turn, over and over. */
    HttpLoad(List<InetSocketAddress> targets, int connections, int inFlight, int valueBytes, int keys) {
        if (keys < 1) {
            throw new IllegalArgumentException("keys must be positive, was " + keys);
        }
        this.keys = keys;
        if (connections < 1 || inFlight < connections) {
            throw new IllegalArgumentException("need at least one request in flight per connection: " + inFlight
                    + " in flight over " + connections + " connections");
        }
        this.targets = List.copyOf(targets);
        this.connections = connections;
        this.inFlight = inFlight;
        this.value = new byte[valueBytes];
        new java.util.SplittableRandom(42).nextBytes(value);
    }

    /** One connection: what it has to write, what it has read, and when each request left. */
    private final class Connection {
        final SocketChannel channel;
        final int depth;
        ByteBuffer out = ByteBuffer.allocate(1 << 16);
        final ByteBuffer in = ByteBuffer.allocate(1 << 18);
        /** Send times of the requests in flight, oldest first (a ring of {@code depth}). */
        final long[] sentAt;
        int head;
        int pending;

        Connection(SocketChannel channel, int depth) {
            this.channel = channel;
            this.depth = depth;
            this.sentAt = new long[depth];
            out.flip();
        }
    }

    private long nextKey;

    /** Ends a {@link #run} at its next turn, as if its window had closed; any thread. */
    void stop() {
        stopping = true;
        Selector selector = running;
        if (selector != null) {
            selector.wakeup();
        }
    }

    /**
     * Runs for {@code warmupNanos} plus {@code windowNanos} (or until {@link #stop}), then closes
     * the connections. The result's {@code windowNanos} is the window as it was measured.
     *
     * @throws IOException if a connection cannot be made, or a node closes one (a load run needs
     *                     every node up)
     */
    Result run(long warmupNanos, long windowNanos, Window window) throws IOException {
        long[] latencies = new long[1 << 16];
        long[] sentTimes = new long[1 << 16];
        int recorded = 0;
        long measuredNanos = 0;
        long completed = 0;
        long failed = 0;
        java.util.Map<Integer, Long> failedByStatus = new java.util.TreeMap<>();
        try (Selector selector = Selector.open()) {
            running = selector;
            List<Connection> all = new ArrayList<>();
            for (int i = 0; i < connections; i++) {
                SocketChannel ch = SocketChannel.open(targets.get(i % targets.size()));
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ch.configureBlocking(false);
                // Spread the requests in flight as evenly as they divide.
                int depth = inFlight / connections + (i < inFlight % connections ? 1 : 0);
                Connection c = new Connection(ch, depth);
                ch.register(selector, SelectionKey.OP_READ, c);
                all.add(c);
            }
            long start = System.nanoTime();
            long opensAt = start + warmupNanos;
            long closesAt = opensAt + windowNanos;
            boolean open = false;
            for (Connection c : all) {
                fill(c, start);
                flush(c, selector);
            }
            while (true) {
                long now = System.nanoTime();
                if (!open && now - opensAt >= 0) {
                    open = true;
                    completed = 0;
                    failed = 0;
                    failedByStatus.clear();
                    recorded = 0;
                    window.opened();
                }
                if (now - closesAt >= 0 || stopping) {
                    measuredNanos = open ? now - opensAt : 0;
                    window.closed();
                    break;
                }
                selector.select(Math.max(1, (Math.min(open ? closesAt : opensAt, closesAt) - now) / 1_000_000));
                for (SelectionKey key : selector.selectedKeys()) {
                    Connection c = (Connection) key.attachment();
                    if (key.isValid() && key.isWritable()) {
                        flush(c, selector);
                    }
                    if (!key.isValid() || !key.isReadable()) {
                        continue;
                    }
                    if (c.channel.read(c.in) < 0) {
                        throw new IOException("a node closed a benchmark connection (" + c.channel.getRemoteAddress()
                                + "); is it still running?");
                    }
                    c.in.flip();
                    long done = System.nanoTime();
                    int status;
                    while ((status = takeResponse(c.in)) != 0) {
                        long sent = c.sentAt[c.head];
                        c.head = (c.head + 1) % c.depth;
                        c.pending--;
                        if (status == 200) {
                            completed++;
                            if (open && sent - opensAt >= 0) {
                                if (recorded == latencies.length) {
                                    latencies = java.util.Arrays.copyOf(latencies, recorded * 2);
                                    sentTimes = java.util.Arrays.copyOf(sentTimes, recorded * 2);
                                }
                                sentTimes[recorded] = sent;
                                latencies[recorded++] = (done - sent) / 1_000;
                            }
                        } else {
                            failed++;
                            failedByStatus.merge(status, 1L, Long::sum);
                        }
                    }
                    c.in.compact();
                    fill(c, done);
                    flush(c, selector);
                }
                selector.selectedKeys().clear();
            }
            for (Connection c : all) {
                c.channel.close();
            }
        }
        long[] inOrder = java.util.Arrays.copyOf(latencies, recorded);
        long[] sorted = inOrder.clone();
        java.util.Arrays.sort(sorted);
        return new Result(completed, failed, failedByStatus, sorted, measuredNanos, inOrder,
                java.util.Arrays.copyOf(sentTimes, recorded));
    }

    /** Queues requests on {@code c} until it has its share in flight. */
    private void fill(Connection c, long now) {
        if (c.pending == c.depth) {
            return;
        }
        ByteBuffer out = c.out;
        out.compact();
        while (c.pending < c.depth) {
            byte[] request = request(nextKey++ % keys);
            if (out.remaining() < request.length) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(out.capacity() * 2, out.position() + request.length));
                out.flip();
                bigger.put(out);
                out = bigger;
            }
            out.put(request);
            c.sentAt[(c.head + c.pending) % c.depth] = now;
            c.pending++;
        }
        out.flip();
        c.out = out;
    }

    private static void flush(Connection c, Selector selector) throws IOException {
        c.channel.write(c.out);
        SelectionKey key = c.channel.keyFor(selector);
        key.interestOps(c.out.hasRemaining() ? SelectionKey.OP_READ | SelectionKey.OP_WRITE : SelectionKey.OP_READ);
    }

    private byte[] request(long key) {
        byte[] head = ("PUT " + KvHttpHandler.KV_PREFIX + "key-" + key + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                + value.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] request = java.util.Arrays.copyOf(head, head.length + value.length);
        System.arraycopy(value, 0, request, head.length, value.length);
        return request;
    }

    /**
     * Takes one whole response from the front of {@code in} (in read mode) and returns its status
     * code, or 0 if no whole response is there yet (nothing is taken then).
     */
    static int takeResponse(ByteBuffer in) {
        int start = in.position();
        int end = in.limit();
        int headEnd = indexOf(in, start, end, CRLF2);
        if (headEnd < 0) {
            return 0;
        }
        int bodyStart = headEnd + CRLF2.length;
        String head = new String(in.array(), in.arrayOffset() + start, headEnd - start, StandardCharsets.ISO_8859_1);
        int status = Integer.parseInt(head.substring(9, 12));
        int length = 0;
        for (String line : head.split("\r\n")) {
            if (line.regionMatches(true, 0, "content-length:", 0, 15)) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        if (end - bodyStart < length) {
            return 0;
        }
        in.position(bodyStart + length);
        return status;
    }

    private static int indexOf(ByteBuffer in, int from, int to, byte[] needle) {
        byte[] a = in.array();
        int off = in.arrayOffset();
        outer:
        for (int i = from; i <= to - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (a[off + i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
