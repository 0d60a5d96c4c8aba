package org.raftkit;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;

import org.raftkit.runtime.ClientSession;
import org.raftkit.runtime.RaftRuntime;

/**
 * A client session registered in the replicated state (thesis §6.3), for an application that
 * retries its own writes across its own restarts. Open one with {@link RaftServer#openSession()}
 * and keep its {@link #id()}; number your writes 1, 2, 3… and keep the numbers with your own
 * state; after a restart, get the session back with {@link RaftServer#session(long)} and send
 * any write whose answer you did not get again, with the same number. Each number is applied at
 * most once: a repeat is answered with the first result, without being applied again.
 *
 * <p>What is guaranteed, and what is not:
 * <ul>
 *   <li>A repeat of a number is answered with its first result as long as the session lives and
 *       the number is at or above the session's floor: the lowest number with a call open on
 *       this handle (every number below it is taken as answered, and its result forgotten). So
 *       after a restart, send the unanswered writes again oldest first, before new ones.</li>
 *   <li>A session expires once {@link #EXPIRY_ENTRIES} entries were applied without a command of
 *       it, or is evicted (least recently active first) when the table passes its bound. A write
 *       in a session the cluster no longer knows fails with {@link SessionExpiredException} and is
 *       not applied; earlier unanswered writes then have an unknown outcome.</li>
 *   <li>The same number with a different command is not detected: it is answered with the first
 *       command's result.</li>
 *   <li>{@link RaftServer#submit} is exactly-once across the library's own retries already (each
 *       node's own session, one per incarnation); a session is only needed to retry across the
 *       application's restarts.</li>
 * </ul>
 *
 * <p>Thread-safe; any node's server may be used for any session.
 */
public final class Session {

    /** Entries applied without a command of a session before it expires: a million. */
    public static final long EXPIRY_ENTRIES = 1_000_000;

    private final long id;
    private final RaftRuntime runtime;
    private final ClientSession calls;

    Session(long id, RaftRuntime runtime) {
        this.id = id;
        this.runtime = runtime;
        this.calls = runtime.newSessionCalls(id);
    }

    /** The session's id: the index of the entry that registered it. Keep it to resume the session. */
    public long id() {
        return id;
    }

    /**
     * Replicates and applies {@code command} as this session's write number {@code sequence}, like
     * {@link RaftServer#submit}; if that number was applied before, completes with its first result
     * instead.
     *
     * @param sequence the write's number in this session, from 1
     * @param command  the command; handed over, must not be changed afterwards
     * @throws IllegalArgumentException if {@code sequence} is below 1, or a call with that number is
     *                                  still open on this handle
     * @throws IllegalStateException    if the server was not started
     */
    public CompletableFuture<byte[]> submit(long sequence, byte[] command) {
        if (sequence < 1) {
            throw new IllegalArgumentException("sequence numbers start at 1, was " + sequence);
        }
        return runtime.submitInSession(calls, sequence, Objects.requireNonNull(command, "command"));
    }

    @Override
    public String toString() {
        return "Session[" + id + "]";
    }
}
