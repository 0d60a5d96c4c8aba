package org.raftkit.message;

/**
 * Anything one node sends another. {@link RaftMessage}s are the protocol's own and go to the
 * core; {@link ClientRequest} and {@link ClientReply} carry a follower's forwarded client calls
 * and are handled by the runtime.
 */
public sealed interface Message permits RaftMessage, ClientRequest, ClientReply {

    /** The sender's node id. */
    String from();

    /** The receiver's node id. */
    String to();
}
