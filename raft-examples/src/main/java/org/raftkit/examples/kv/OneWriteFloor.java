package org.raftkit.examples.kv;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;

/**
 * The floor of one replicated write, for {@code bench --mode processes --clients 1}: what no Raft
 * implementation on this machine can beat when the leader and a follower must each make the write
 * durable and the two must exchange one round trip. It is the sum of three medians measured in the
 * same run, on the same file system as the nodes' data and on the same loopback:
 * <ul>
 *   <li><b>one local fsync</b>: a record of the log's size (its 33-byte header plus the payload)
 *       written into a file zero-filled ahead, as the log's segments are, then
 *       {@code force(false)}, as the log forces a group;</li>
 *   <li><b>one loopback round trip</b>: 64 bytes each way over a TCP connection on 127.0.0.1
 *       with {@code TCP_NODELAY}, with a blocking thread on each side (no event loop to wake);</li>
 *   <li><b>the follower's fsync</b>: the same as the first.</li>
 * </ul>
 * The leader writes its own entry while the AppendEntries is on its way, so the true critical path
 * of a write is shorter than this sum when the two fsyncs overlap; the sum is the floor issue 16
 * names, and the stricter comparison for it is the client's p50, which also carries the client's
 * own HTTP round trip. Runs on the calling thread (plus one echo thread for the round trips), with
 * the nodes stopped, so they do not compete with it.
 */
final class OneWriteFloor {

    /** The segmented log's record header (RecordFormat.HEADER_BYTES), so the floor writes as many bytes. */
    private static final int RECORD_HEADER_BYTES = 33;
    private static final int PREALLOCATE_BYTES = 1 << 20;
    private static final int ROUND_TRIP_BYTES = 64;

    /** The medians, in microseconds. */
    record Result(double fsyncMicros, double roundTripMicros) {

        double floorMicros() {
            return 2 * fsyncMicros + roundTripMicros;
        }

        String json() {
            return String.format(Locale.ROOT, "{\"fsyncMicrosP50\":%.1f,\"loopbackRoundTripMicrosP50\":%.1f,"
                    + "\"floorMicros\":%.1f}", fsyncMicros, roundTripMicros, floorMicros());
        }
    }

    private OneWriteFloor() {
    }

    /** Measures {@code fsyncs} forced writes of {@code payload}-byte records in {@code dir}, and {@code roundTrips} round trips. */
    static Result measure(Path dir, int payload, int fsyncs, int roundTrips) throws IOException, InterruptedException {
        return new Result(fsyncMicros(dir, payload, fsyncs), roundTripMicros(roundTrips));
    }

    static double fsyncMicros(Path dir, int payload, int count) throws IOException {
        Path file = Files.createTempFile(Files.createDirectories(dir), "floor", ".bin");
        long[] micros = new long[count];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer record = ByteBuffer.allocateDirect(RECORD_HEADER_BYTES + payload);
            ByteBuffer zeros = ByteBuffer.allocateDirect(PREALLOCATE_BYTES);
            long position = 0;
            long allocated = 0;
            for (int i = 0; i < count; i++) {
                if (position + record.capacity() > allocated) {
                    zeros.clear();
                    while (zeros.hasRemaining()) {
                        allocated += ch.write(zeros, allocated);
                    }
                    // not timed; the next force carries the new size, as the log's next sync does
                }
                record.clear();
                record.putLong(0, i);
                long start = System.nanoTime();
                while (record.hasRemaining()) {
                    position += ch.write(record, position);
                }
                ch.force(false);
                micros[i] = (System.nanoTime() - start) / 1_000;
            }
        } finally {
            Files.deleteIfExists(file);
        }
        return median(micros);
    }

    static double roundTripMicros(int count) throws IOException, InterruptedException {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        long[] micros = new long[count];
        try (ServerSocket server = new ServerSocket(0, 1, loopback)) {
            Thread echo = new Thread(() -> echo(server, count), "floor-echo");
            echo.setDaemon(true);
            echo.start();
            try (Socket s = new Socket()) {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(loopback, server.getLocalPort()), 2_000);
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                DataInputStream in = new DataInputStream(s.getInputStream());
                byte[] message = new byte[ROUND_TRIP_BYTES];
                for (int i = 0; i < count; i++) {
                    long start = System.nanoTime();
                    out.write(message);
                    out.flush();
                    in.readFully(message);
                    micros[i] = (System.nanoTime() - start) / 1_000;
                }
            }
            echo.join(2_000);
        }
        return median(micros);
    }

    private static void echo(ServerSocket server, int count) {
        try (Socket s = server.accept()) {
            s.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(s.getInputStream());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            byte[] message = new byte[ROUND_TRIP_BYTES];
            for (int i = 0; i < count; i++) {
                in.readFully(message);
                out.write(message);
                out.flush();
            }
        } catch (IOException e) {
            // the measuring side fails on its own read and reports it
        }
    }

    private static double median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    }
}
