package org.raftkit;

/**
 * The state machine threw while applying the call's command or answering its query. The original
 * exception is the cause when it was raised on this node; for a call forwarded to the leader only
 * its description travels back. An exception while applying also stops the node that saw it (see
 * {@link StateMachine}).
 */
public final class StateMachineException extends RaftException {

    private static final long serialVersionUID = 1L;

    /** @param message what failed */
    public StateMachineException(String message) {
        super(message);
    }

    /**
     * @param message what failed
     * @param cause   what the state machine threw
     */
    public StateMachineException(String message, Throwable cause) {
        super(message, cause);
    }
}
