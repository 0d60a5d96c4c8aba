package org.raftkit.transport.netty.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.raftkit.message.AppendEntries;
import org.raftkit.message.Entry;
import org.raftkit.transport.netty.NettyTransport;
import org.raftkit.transport.netty.NettyTransportConfig;
import org.raftkit.transport.netty.TlsConfig;
import org.raftkit.transport.netty.TransportStats;
import org.raftkit.transport.netty.tls.DevCertificates;

/**
 * How fast two {@link NettyTransport}s in one JVM move AppendEntries over loopback, and at what
 * CPU cost. Not a test; run it by hand (docs/BENCHMARKS.md has the command and figures).
 *
 * <p>Node {@code a} sends AppendEntries of {@code --entries} entries of {@code --entry-bytes}
 * bytes each to node {@code b} from one thread (standing in for the Raft thread), in bursts of
 * {@code --burst} messages, keeping at most {@code --window} messages sent and not yet delivered, so the measurement is of the transport, not
 * of drops. {@code b}'s handler counts what arrives, fully decoded. For each batch size it warms up
 * for {@code --warmup-seconds}, measures for {@code --seconds} and prints one JSON line:
 * <ul>
 *   <li>{@code messagesPerSecond}, {@code entriesPerSecond}, {@code payloadMBPerSecond} (entry data
 *       only, 10^6 bytes) and {@code wireMBPerSecond} (frames as written, prefix included);</li>
 *   <li>{@code processCpuMicrosPerMessage}: CPU of the whole JVM (both transports' event loops,
 *       the sending thread, GC, JIT) per delivered message;</li>
 *   <li>{@code senderCpuMicrosPerMessage}: CPU of the sending thread during its bursts of
 *       {@code send} calls (not while it waits for the window): what {@code send} costs the Raft
 *       thread;</li>
 *   <li>{@code dropped}: messages the transport dropped (expected 0).</li>
 * </ul>
 */
public final class TransportBenchmark {

    private TransportBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        Map<String, TlsConfig> tls = Map.of();
        if (o.tlsModes.contains(Boolean.TRUE)) {
            Path certificates = Files.createTempDirectory("raftkit-bench-tls");
            DevCertificates ca = DevCertificates.createAuthority(certificates, "bench-ca");
            tls = Map.of("a", ca.issue(certificates.resolve("a"), "bench", "a").tlsConfig(),
                    "b", ca.issue(certificates.resolve("b"), "bench", "b").tlsConfig());
        }
        for (int entries : o.entriesPerMessage) {
            for (boolean withTls : o.tlsModes) {
                run(o, entries, withTls ? tls : Map.of());
            }
        }
    }

    /** One measurement; {@code tls} holds each node's TLS, or is empty for plaintext. */
    private static void run(Options o, int entriesPerMessage, Map<String, TlsConfig> tls) throws IOException {
        List<InetSocketAddress> ports = freeLoopbackPorts(2);
        Map<String, InetSocketAddress> peers = Map.of("a", ports.get(0), "b", ports.get(1));
        AtomicLong delivered = new AtomicLong();
        NettyTransport a = NettyTransport.create(config("a", peers, tls));
        NettyTransport b = NettyTransport.create(config("b", peers, tls));
        try {
            a.start(m -> { });
            b.start(m -> delivered.incrementAndGet());
            while (!a.stats().connectedPeers().get("b")) {
                LockSupport.parkNanos(1_000_000);
            }
            List<Entry> entries = new ArrayList<>();
            for (int i = 0; i < entriesPerMessage; i++) {
                entries.add(Entry.command(i + 1, 1, new byte[o.entryBytes]));
            }
            AppendEntries message = new AppendEntries("a", "b", 1, 0, 0, List.copyOf(entries), 0);

            com.sun.management.OperatingSystemMXBean os =
                    (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long[] senderCpuNanos = {0};
            long sent = pump(a, message, delivered, 0, o, o.warmupSeconds, senderCpuNanos);

            long deliveredBefore = delivered.get();
            TransportStats statsBefore = a.stats();
            long cpuBefore = os.getProcessCpuTime();
            senderCpuNanos[0] = 0;
            long began = System.nanoTime();
            pump(a, message, delivered, sent, o, o.seconds, senderCpuNanos);
            long nanos = System.nanoTime() - began;
            long messages = delivered.get() - deliveredBefore;
            long cpu = os.getProcessCpuTime() - cpuBefore;
            long threadCpu = senderCpuNanos[0];
            TransportStats statsAfter = a.stats();

            double seconds = nanos / 1e9;
            System.out.println(String.format(Locale.ROOT,
                    "{\"tls\":%b,\"entriesPerMessage\":%d,\"entryBytes\":%d,\"window\":%d,\"burst\":%d,\"seconds\":%.2f,\"messages\":%d,"
                            + "\"messagesPerSecond\":%.0f,\"entriesPerSecond\":%.0f,\"payloadMBPerSecond\":%.1f,"
                            + "\"wireMBPerSecond\":%.1f,\"processCpuMicrosPerMessage\":%.2f,"
                            + "\"senderCpuMicrosPerMessage\":%.2f,\"dropped\":%d}",
                    !tls.isEmpty(), entriesPerMessage, o.entryBytes, o.window, o.burst, seconds, messages, messages / seconds,
                    messages * (double) entriesPerMessage / seconds,
                    messages * (double) entriesPerMessage * o.entryBytes / seconds / 1e6,
                    (statsAfter.bytesSent() - statsBefore.bytesSent()) / seconds / 1e6,
                    cpu / 1e3 / messages, threadCpu / 1e3 / messages,
                    statsAfter.droppedTotal() - statsBefore.droppedTotal()));
        } finally {
            a.close();
            b.close();
        }
    }

    /**
     * Sends for {@code seconds} in bursts of {@code burst} messages (a Raft thread, too, sends a
     * batch at a time), never with more than {@code window} undelivered. Returns the new sent count;
     * adds the sending thread's CPU time, measured around the bursts only, to {@code senderCpuNanos}.
     */
    private static long pump(NettyTransport a, AppendEntries message, AtomicLong delivered, long sent, Options o,
                             double seconds, long[] senderCpuNanos) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() - end < 0) {
            if (o.window - (sent - delivered.get()) < o.burst) {
                // A nap, not a spin: a spinning sender would take one of the two cores from the
                // event loops. The window holds milliseconds of traffic, so 0.1 ms naps do not
                // starve the pipe.
                LockSupport.parkNanos(100_000);
                continue;
            }
            long cpu = threads.getCurrentThreadCpuTime();
            for (int i = 0; i < o.burst; i++) {
                a.send(message);
            }
            senderCpuNanos[0] += threads.getCurrentThreadCpuTime() - cpu;
            sent += o.burst;
        }
        // Let the tail arrive so the next phase starts from an empty pipe.
        long drainEnd = System.nanoTime() + 5_000_000_000L;
        while (delivered.get() < sent - a.stats().droppedTotal() && System.nanoTime() - drainEnd < 0) {
            LockSupport.parkNanos(100_000);
        }
        return sent;
    }

    private static NettyTransportConfig config(String id, Map<String, InetSocketAddress> peers,
                                               Map<String, TlsConfig> tls) {
        return NettyTransportConfig.builder().clusterId("bench").nodeId(id).peers(peers)
                .tls(tls.getOrDefault(id, TlsConfig.plaintext())).build();
    }

    private static List<InetSocketAddress> freeLoopbackPorts(int count) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        List<InetSocketAddress> out = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                held.add(s);
                out.add(new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort()));
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
        return out;
    }

    /** Command-line flags. */
    private static final class Options {
        int[] entriesPerMessage = {1, 64, 256};
        int entryBytes = 128;
        int window = 1024;
        int burst = 64;
        double seconds = 5;
        double warmupSeconds = 2;
        List<Boolean> tlsModes = List.of(false);

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String value = i + 1 < args.length ? args[i + 1] : null;
                switch (args[i]) {
                    case "--entries":
                        o.entriesPerMessage = java.util.Arrays.stream(value.split(",")).mapToInt(Integer::parseInt)
                                .toArray();
                        break;
                    case "--entry-bytes":
                        o.entryBytes = Integer.parseInt(value);
                        break;
                    case "--window":
                        o.window = Integer.parseInt(value);
                        break;
                    case "--burst":
                        o.burst = Integer.parseInt(value);
                        break;
                    case "--seconds":
                        o.seconds = Double.parseDouble(value);
                        break;
                    case "--warmup-seconds":
                        o.warmupSeconds = Double.parseDouble(value);
                        break;
                    case "--tls":
                        o.tlsModes = switch (value) {
                            case "off" -> List.of(false);
                            case "on" -> List.of(true);
                            case "both" -> List.of(false, true);
                            default -> throw new IllegalArgumentException("--tls is off, on or both, was " + value);
                        };
                        break;
                    default:
                        throw new IllegalArgumentException("unknown flag " + args[i] + "; flags: --entries 1,64,256 "
                                + "--entry-bytes 128 --window 1024 --burst 64 --seconds 5 --warmup-seconds 2 --tls off|on|both");
                }
                i++;
            }
            return o;
        }
    }
}
