package org.raftkit.transport.netty;

/**
 * Input from a peer that breaks the wire format: thrown by the frame decoder and the codec, and
 * turned by the connection's handler into a counted {@link RejectReason} (and, for most reasons,
 * a closed connection). Checked, so every caller decides what a bad frame means there.
 */
final class WireFormatException extends Exception {

    private static final long serialVersionUID = 1L;

    private final RejectReason reason;

    WireFormatException(RejectReason reason, String detail) {
        super(detail, null, false, false);
        this.reason = reason;
    }

    /** How the input is counted. */
    RejectReason reason() {
        return reason;
    }

    /** Whether the connection may stay open: true for content a newer peer may legitimately send. */
    boolean tolerable() {
        return reason == RejectReason.UNKNOWN_MESSAGE || reason == RejectReason.UNSUPPORTED_CONTENT;
    }
}
