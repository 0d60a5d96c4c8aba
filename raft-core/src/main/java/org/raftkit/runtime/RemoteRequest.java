package org.raftkit.runtime;

import org.raftkit.NotLeaderException;
import org.raftkit.RaftException;
import org.raftkit.ServerBusyException;
import org.raftkit.SessionExpiredException;
import org.raftkit.StateMachineException;
import org.raftkit.message.ClientReply;
import org.raftkit.message.ClientRequest;
import org.raftkit.spi.Transport;

/**
 * A call another node forwarded to this one as leader ({@link ClientRequest}): it finishes by
 * sending a {@link ClientReply} back. It is never forwarded again: if this node is not (or no
 * longer) leader, the forwarding node hears NOT_LEADER and decides itself.
 */
final class RemoteRequest extends Request {

    static final byte[] EMPTY = new byte[0];

    private final Transport transport;
    private final String self;
    private final String origin;
    private final long originRequestId;

    RemoteRequest(ClientRequest m, long deadlineNanos, RequestBudget budget, Transport transport) {
        super(m.kind() == ClientRequest.Kind.READ ? Kind.READ : Kind.WRITE, m.payload(), deadlineNanos, budget);
        this.transport = transport;
        this.self = m.to();
        this.origin = m.from();
        this.originRequestId = m.requestId();
        this.registration = m.kind() == ClientRequest.Kind.REGISTER_SESSION;
    }

    @Override
    boolean forwardable() {
        return false;
    }

    @Override
    void onSuccess(byte[] result) {
        transport.send(new ClientReply(self, origin, originRequestId, ClientReply.Status.OK, result, self, null));
    }

    @Override
    void onFailure(RaftException failure) {
        String hint = null;
        ClientReply.Status status;
        if (failure instanceof NotLeaderException nle) {
            status = ClientReply.Status.NOT_LEADER;
            hint = nle.leaderId();
        } else if (failure instanceof ServerBusyException) {
            status = ClientReply.Status.BUSY;
        } else if (failure instanceof StateMachineException) {
            status = ClientReply.Status.STATE_MACHINE_ERROR;
        } else if (failure instanceof SessionExpiredException) {
            status = ClientReply.Status.SESSION_EXPIRED;
        } else {
            // Timed out, closed or failed here: a write may still be committed by the others.
            status = ClientReply.Status.UNKNOWN_OUTCOME;
        }
        transport.send(new ClientReply(self, origin, originRequestId, status, EMPTY, hint, failure.getMessage()));
    }
}
