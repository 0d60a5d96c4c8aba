package org.raftkit.transport.netty;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;

import org.raftkit.transport.netty.wire.Envelope;

/**
 * A hand-driven connection to a live node over a plain {@link Socket}: writes whatever bytes a
 * test wants (valid frames, garbage, half a frame) and reads the node's frames. Blocking; for
 * tests only.
 */
final class RawPeer implements AutoCloseable {

    private final Socket socket;
    private final OutputStream out;
    private final DataInputStream in;

    private RawPeer(Socket socket) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.in = new DataInputStream(socket.getInputStream());
    }

    /** Connects to {@code address}. */
    static RawPeer connect(InetSocketAddress address) throws IOException {
        Socket s = new Socket();
        s.connect(address, 2_000);
        s.setTcpNoDelay(true);
        return new RawPeer(s);
    }

    /** Wraps an accepted socket (a fake peer the node dialed). */
    static RawPeer of(Socket accepted) throws IOException {
        return new RawPeer(accepted);
    }

    /** One frame: the 4-byte length and the envelope. */
    static byte[] frame(Envelope e) {
        byte[] body = e.toByteArray();
        return ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array();
    }

    /** Writes raw bytes. */
    RawPeer write(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** Writes one frame. */
    RawPeer send(Envelope e) throws IOException {
        return write(frame(e));
    }

    /** Sends a Hello and returns the node's answer (HelloAck or HelloReject). */
    Envelope hello(String clusterId, String from, String to) throws IOException {
        send(Handshake.hello(clusterId, from, to));
        return readFrame(Duration.ofSeconds(5));
    }

    /** Reads one frame, waiting at most {@code timeout}. */
    Envelope readFrame(Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
        int length = in.readInt();
        byte[] body = new byte[length];
        in.readFully(body);
        return Envelope.parseFrom(body);
    }

    /**
     * Whether the node closes this connection within {@code timeout}, reading (and discarding)
     * whatever it sends until then.
     */
    boolean closedByNodeWithin(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        byte[] sink = new byte[4096];
        while (true) {
            long left = Math.max(1, Duration.ofNanos(deadline - System.nanoTime()).toMillis());
            socket.setSoTimeout((int) left);
            try {
                if (in.read(sink) < 0) {
                    return true;
                }
            } catch (SocketTimeoutException e) {
                return false;
            } catch (EOFException | SocketException e) {
                return true; // reset by the node
            }
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
        }
    }

    /** The underlying socket. */
    Socket socket() {
        return socket;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
