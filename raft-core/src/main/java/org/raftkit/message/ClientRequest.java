package org.raftkit.message;

/**
 * A client call a follower forwards to the leader it knows. Handled by the runtime, not the core.
 *
 * @param requestId the forwarding node's identifier, echoed in the {@link ClientReply}
 * @param kind      a write to replicate, or a linearizable read
 * @param payload   the command or query bytes
 */
public record ClientRequest(String from, String to, long requestId, Kind kind, byte[] payload) implements Message {

    /** What the forwarded call asks for. */
    public enum Kind {
        /** {@code RaftServer.submit}: replicate and apply a command. */
        WRITE,
        /** {@code RaftServer.read}: a linearizable query. */
        READ,
        /** {@code RaftServer.openSession}: append a session registration; the payload is empty. */
        REGISTER_SESSION
    }
}
