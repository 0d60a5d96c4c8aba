package org.raftkit.message;

/** What a log entry carries. */
public enum EntryType {
    /** A client command, handed to {@code StateMachine.apply} once committed. */
    COMMAND,
    /**
     * A client command with its session (thesis §6.3): a client id, a sequence number and the
     * client's floor, then the command. The runtime applies it at most once per client and
     * sequence number, answering a repeat with the first result.
     */
    SESSION_COMMAND,
    /**
     * The empty entry a new leader appends at the start of its term. Committing it commits every
     * earlier entry (§5.4.2, Figure 8) and lets the leader serve ReadIndex reads (§6.4).
     */
    NO_OP,
    /**
     * A cluster configuration (thesis §4.1), its data the form of {@code Configuration.encode()}.
     * A server uses the latest one in its log, committed or not; the state machine never sees it.
     */
    CONFIGURATION,
    /**
     * Registers an application's client session (thesis §6.3, {@code RaftServer.openSession}): the
     * session's id is this entry's index. No data; the state machine never sees it.
     */
    REGISTER_SESSION
}
