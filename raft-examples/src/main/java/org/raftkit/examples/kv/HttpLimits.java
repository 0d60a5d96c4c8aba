package org.raftkit.examples.kv;

/**
 * What one HTTP client may hold of a KV node: the bounds that keep slow, silent, flooding or
 * malformed clients from taking memory or descriptors the node needs (docs/OPERATIONS.md, "HTTP
 * limits").
 *
 * @param maxConnections       open connections at once; more are closed as soon as they are accepted
 * @param requestTimeoutMillis a connection must deliver each whole request (head and body) within
 *                             this long of opening or of the end of its previous request, or it is
 *                             closed: this is both the idle timeout and the slowloris bound
 * @param maxPipelined         requests read from one connection and not yet answered; past it the
 *                             node stops reading that connection until answers are written
 * @param maxDiscardBytes      after a 413, body bytes read and thrown away before the connection is
 *                             closed (the client has had its answer; an endless body must not be
 *                             read for ever)
 */
record HttpLimits(int maxConnections, long requestTimeoutMillis, int maxPipelined, long maxDiscardBytes) {

    /** The KV example's defaults. */
    static final HttpLimits DEFAULTS = new HttpLimits(1024, 30_000, 64, 1 << 20);

    HttpLimits {
        if (maxConnections < 1 || requestTimeoutMillis < 1 || maxPipelined < 1 || maxDiscardBytes < 0) {
            throw new IllegalArgumentException("bad HTTP limits: " + maxConnections + " connections, "
                    + requestTimeoutMillis + " ms, " + maxPipelined + " pipelined, " + maxDiscardBytes + " bytes");
        }
    }
}
