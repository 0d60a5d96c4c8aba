package org.raftkit.transport.netty;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * Loopback addresses with ports that were free a moment ago: all are bound at once (so they are
 * distinct) and released just before the test's nodes bind them. Ephemeral ports are handed out
 * by the kernel in rotation, so another process taking one in that moment is very unlikely.
 */
final class FreePorts {

    private FreePorts() {
    }

    static List<InetSocketAddress> loopback(int count) {
        List<ServerSocket> held = new ArrayList<>();
        try {
            List<InetSocketAddress> out = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                held.add(s);
                out.add(new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort()));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // best effort; the port is released either way when the socket is collected
                }
            }
        }
    }
}
