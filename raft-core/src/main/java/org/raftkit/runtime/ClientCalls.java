package org.raftkit.runtime;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.raftkit.NotLeaderException;
import org.raftkit.RaftConfig;
import org.raftkit.RaftException;
import org.raftkit.ReadTimeoutException;
import org.raftkit.Role;
import org.raftkit.ServerBusyException;
import org.raftkit.SessionExpiredException;
import org.raftkit.StateMachineException;
import org.raftkit.TooFarBehindException;
import org.raftkit.UnknownOutcomeException;
import org.raftkit.core.RaftNode;
import org.raftkit.core.ReadState;
import org.raftkit.core.Ready;
import org.raftkit.message.ClientReply;
import org.raftkit.message.ClientRequest;
import org.raftkit.message.EntryType;
import org.raftkit.spi.Scheduler;
import org.raftkit.spi.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where each client call goes, on the Raft thread only: proposed here if this node leads, sent to
 * the leader if another node leads, held briefly if no leader is known; and how it ends when
 * nothing answers in time.
 *
 * <ul>
 *   <li>Write on the leader: {@code RaftNode.propose}; the apply thread completes it.</li>
 *   <li>Write elsewhere: a {@link ClientRequest} to the leader, completed by its {@link ClientReply}.
 *       A NOT_LEADER answer is retried towards the newer leader a few times.</li>
 *   <li>Linearizable read anywhere: {@code RaftNode.readIndex} (a follower's core asks the leader);
 *       the resulting {@link ReadState} goes to the apply thread, which queries once applied has
 *       reached the read index. A read the core gives up on is retried a few times.</li>
 *   <li>No leader known: the call waits for one, at most {@link #LEADER_WAIT_ELECTION_TIMEOUTS}
 *       maximum election timeouts (and never past its deadline), then fails with
 *       {@link NotLeaderException}: nothing was sent, so the caller may safely retry.</li>
 *   <li>Deadline passed ({@code RaftConfig.requestTimeoutMillis}): a write fails with
 *       {@link UnknownOutcomeException} (it may still commit), a read with {@link ReadTimeoutException}.</li>
 * </ul>
 */
final class ClientCalls {

    private static final Logger LOG = LoggerFactory.getLogger(ClientCalls.class);

    /** How many maximum election timeouts a call waits for a leader before failing as not leader. */
    static final int LEADER_WAIT_ELECTION_TIMEOUTS = 2;
    /** How often one call is sent to a leader or re-asks for a read index before failing as not leader. */
    static final int MAX_ATTEMPTS = 3;

    private final String id;
    private final RaftNode node;
    private final RaftConfig config;
    private final Transport transport;
    private final Applier applier;
    private final RequestBudget budget;
    private final LiveStatus status;
    private final Scheduler clock;
    /** When the Raft loop ticks the core next (set by it after every tick); for lease reads. */
    long nextTickNanos;

    /**
     * Whether the core's tick count is up to date with the clock (no tick overdue), so that a lease
     * measured in ticks is not longer than it is in time. Raft loop only; read just before the core
     * is asked to answer from its lease.
     */
    boolean coreTicksCurrent() {
        return clock.nanoTime() - nextTickNanos < 0;
    }
    private final RuntimeMetrics metrics;
    private final StorageWriter storage;
    private final long leaderWaitNanos;
    private final long timeoutNanos;

    /** Every call this thread has seen, in arrival (so deadline) order; finished ones are dropped lazily. */
    private final ArrayDeque<Request> byDeadline = new ArrayDeque<>();
    /** Writes sent to a leader, by request id, until its reply. */
    private final Map<Long, Request> forwarded = new HashMap<>();
    private long resentWrites;
    /** Reads waiting for the core's read index, by context (= request id). */
    private final Map<Long, Request> readsInCore = new HashMap<>();
    /** Calls waiting for a leader to be known. */
    private final List<Request> waitingForLeader = new ArrayList<>();
    /** Next request id; see the constructor for why it starts at random. */
    private long nextRequestId;
    /** While leader: (index, bytes) of each entry proposed in this term and not yet applied, oldest first. */
    private final ProposalBacklog backlog = new ProposalBacklog();
    /** Forwarded writes sent again to a new leader (failover). */
    long resentWrites() {
        return resentWrites;
    }

    /** Replies dropped because they matched no call sent to their sender. */
    private long unmatchedReplies;
    /** While leader: the last index before this node's first proposal of the term (its no-op). */
    private long leaderStartIndex;
    private final long maxProposalBacklog;

    ClientCalls(String id, RaftNode node, RaftConfig config, Transport transport, Applier applier,
                RequestBudget budget, LiveStatus status, Scheduler clock, StorageWriter storage,
                RuntimeMetrics metrics) {
        this.metrics = metrics;
        this.id = id;
        this.node = node;
        this.config = config;
        this.transport = transport;
        this.applier = applier;
        this.budget = budget;
        this.status = status;
        this.clock = clock;
        this.storage = storage;
        // Ids start at a random point for each incarnation, so that a reply or read index meant for a
        // call of an earlier incarnation of this node can never match a call of this one: two runs
        // of ids collide only if their ranges overlap, about one chance in 2^64 / (calls per run).
        this.nextRequestId = clock.newIncarnationId();
        this.leaderWaitNanos = TimeUnit.MILLISECONDS.toNanos(
                Math.min(config.requestTimeoutMillis(), LEADER_WAIT_ELECTION_TIMEOUTS * config.electionTimeoutMaxMillis()));
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMillis());
        this.maxProposalBacklog = 2L * config.maxPendingRequests();
    }

    // ---------------------------------------------------------------------------------------------
    // Calls arriving
    // ---------------------------------------------------------------------------------------------

    /** A call made on this node. */
    void onLocal(Request r) {
        if (r.isFinished()) {
            return; // failed by a close racing with the submit
        }
        register(r);
        route(r);
    }

    /** A call another node forwarded to us as leader. */
    void onClientRequest(ClientRequest m) {
        if (node.role() != Role.LEADER) {
            reply(m, ClientReply.Status.NOT_LEADER, status.leaderHint(), id + " is not the leader");
            return;
        }
        if (m.kind() == ClientRequest.Kind.WRITE && m.payload().length > config.maxCommandBytes() + Sessions.HEADER_BYTES) {
            // Only a node with a looser limit than ours forwards this: its own submit checked its own.
            reply(m, ClientReply.Status.BUSY, id, "command of " + (m.payload().length - Sessions.HEADER_BYTES)
                    + " bytes exceeds the leader's maxCommandBytes " + config.maxCommandBytes());
            return;
        }
        if (m.kind() == ClientRequest.Kind.REGISTER_SESSION && m.payload().length != 0) {
            reply(m, ClientReply.Status.BUSY, id, "a forwarded session registration with " + m.payload().length
                    + " bytes of payload (it has none)");
            return;
        }
        if (m.kind() == ClientRequest.Kind.WRITE && Sessions.header(m.payload()) == null) {
            // Every node wraps its writes in its session before forwarding them; this one did not.
            reply(m, ClientReply.Status.BUSY, id, "a forwarded write without a well-formed session header");
            return;
        }
        if (m.payload().length > budget.maxBytes() || !budget.tryAcquire(m.payload().length)) {
            metrics.busy();
            reply(m, ClientReply.Status.BUSY, id, id + " has too many pending requests");
            return;
        }
        Request r = new RemoteRequest(m, clock.nanoTime() + timeoutNanos, budget, transport);
        register(r);
        route(r);
    }

    /**
     * The leader's answer to a write we forwarded. Accepted only from the node the write went to:
     * a reply from anyone else, or for an id we never used, is dropped and counted.
     */
    void onClientReply(ClientReply m) {
        Request r = forwarded.get(m.requestId());
        if (r == null || !m.from().equals(r.sentTo)) {
            unmatchedReplies++;
            LOG.debug("{} dropped a ClientReply it cannot match: {}", id, m);
            return;
        }
        forwarded.remove(m.requestId());
        if (r.isFinished()) {
            return; // timed out already
        }
        switch (m.status()) {
            case OK -> r.complete(m.result());
            case NOT_LEADER -> retryAfterNotLeader(r, m);
            case BUSY -> r.fail(new ServerBusyException("leader " + m.from() + " is busy: " + m.detail()));
            case STATE_MACHINE_ERROR -> r.fail(new StateMachineException("on leader " + m.from() + ": " + m.detail()));
            case SESSION_EXPIRED -> r.fail(new SessionExpiredException("on leader " + m.from() + ": " + m.detail()));
            default -> r.fail(r.kind == Request.Kind.WRITE
                    ? new UnknownOutcomeException("leader " + m.from() + " lost track of the write: " + m.detail())
                    : new ReadTimeoutException("leader " + m.from() + " could not answer the read: " + m.detail()));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Outputs of the core
    // ---------------------------------------------------------------------------------------------

    /** The role or known leader changed; calls waiting for a leader can go now. */
    void onSoftState(Ready.SoftState soft) {
        if (soft.role() == Role.LEADER) {
            leaderStartIndex = node.lastIndex(); // the term's no-op, appended on becoming leader
        }
        if (soft.role() != Role.LEADER) {
            backlog.clear();
        }
        if (soft.leaderId() != null && !forwarded.isEmpty()) {
            resendToNewLeader(soft.leaderId());
        }
        if (soft.leaderId() != null) {
            routeWaitingForLeader();
        }
    }

    /**
     * A leadership transfer this node started ended: calls held while it ran go to whoever leads
     * now (this node again, if the transfer failed and it still leads).
     */
    void onTransferEnded() {
        if (node.role() == Role.LEADER || node.leaderId() != null) {
            routeWaitingForLeader();
        }
    }

    /** A leader is known: calls waiting for one go on. */
    private void routeWaitingForLeader() {
        if (waitingForLeader.isEmpty()) {
            return;
        }
        List<Request> waiting = new ArrayList<>(waitingForLeader);
        waitingForLeader.clear();
        for (Request r : waiting) {
            if (!r.isFinished()) {
                route(r);
            }
        }
    }

    /**
     * Failover: writes forwarded to an earlier leader go to the new one at once, instead of
     * waiting for an answer that may never come (the old leader may be dead). Each is the same
     * session command, so the session table applies it at most once whichever copies reach a log:
     * a copy the old leader already committed answers the resend with its first result. An answer
     * from the old leader no longer counts ({@link #onClientReply} accepts only {@code sentTo}).
     * Not counted as an attempt: the deadline bounds how often this can happen.
     */
    private void resendToNewLeader(String leader) {
        List<Request> moved = new ArrayList<>();
        for (Request r : forwarded.values()) {
            if (r.kind == Request.Kind.WRITE && !r.isFinished() && !leader.equals(r.sentTo)) {
                moved.add(r);
            }
        }
        for (Request r : moved) {
            forwarded.remove(r.id);
            r.copyAbandoned = true;
            resentWrites++;
            if (node.role() == Role.LEADER) {
                propose(r);
            } else {
                forward(r, leader);
            }
        }
    }

    /** Reads whose read index is known: the apply thread answers them once it gets there (Ready step 5). */
    void onReadStates(List<ReadState> readStates) {
        for (ReadState rs : readStates) {
            Request r = readsInCore.remove(rs.context());
            if (r == null || r.isFinished()) {
                continue;
            }
            r.readIndex = rs.readIndex();
            r.stage = Request.Stage.APPLYING;
            applier.submit(r);
        }
    }

    /** Reads the core could not confirm (leadership changed): nothing was read, so ask again. */
    void onFailedReads(List<Long> contexts) {
        for (long context : contexts) {
            Request r = readsInCore.remove(context);
            if (r == null || r.isFinished()) {
                continue;
            }
            if (r.attempts >= MAX_ATTEMPTS) {
                r.fail(new NotLeaderException(status.leaderHint(), "leadership changed while reading"));
            } else {
                route(r);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Time
    // ---------------------------------------------------------------------------------------------

    /** Fails calls whose deadline or leader wait has passed. Called on each tick. */
    void expire(long nowNanos) {
        Request r;
        while ((r = byDeadline.peekFirst()) != null) {
            if (!r.isFinished()) {
                if (r.deadlineNanos - nowNanos > 0) {
                    break;
                }
                timeOut(r);
            }
            byDeadline.pollFirst();
        }
        if (!waitingForLeader.isEmpty()) {
            waitingForLeader.removeIf(w -> {
                if (!w.isFinished() && w.leaderWaitUntilNanos - nowNanos <= 0) {
                    w.fail(new NotLeaderException(status.leaderHint(), id + " knows no leader (waited "
                            + TimeUnit.NANOSECONDS.toMillis(leaderWaitNanos) + " ms for an election)"));
                }
                return w.isFinished();
            });
        }
    }

    /** Fails every call this thread knows of; the node is stopping. */
    void failAll(RaftException failure) {
        for (Request r : byDeadline) {
            r.fail(failure);
        }
        byDeadline.clear();
        forwarded.clear();
        readsInCore.clear();
        waitingForLeader.clear();
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------

    /** Replies dropped because they matched no call sent to their sender. */
    long unmatchedReplies() {
        return unmatchedReplies;
    }

    private void register(Request r) {
        r.id = nextRequestId++;
        byDeadline.addLast(r);
        // Finished calls leave the deque lazily from its head; if a slow one holds the head, compact
        // so the deque stays bounded by about twice the budget.
        if (byDeadline.size() > 2 * budget.maxRequests() + 16) {
            byDeadline.removeIf(Request::isFinished);
        }
    }

    private void route(Request r) {
        r.attempts++;
        if (r.kind == Request.Kind.STALE_READ) {
            String tooFar = r.maxLagEntries < 0 ? null : tooFarBehind(r.maxLagEntries);
            if (tooFar != null) {
                r.fail(new TooFarBehindException(tooFar));
                return;
            }
            r.stage = Request.Stage.APPLYING;
            applier.submit(r); // the applied index only grows from here
            return;
        }
        if (node.role() == Role.LEADER) {
            if (r.kind == Request.Kind.WRITE) {
                propose(r);
            } else {
                readIndex(r);
            }
            return;
        }
        if (!r.forwardable()) {
            r.fail(new NotLeaderException(status.leaderHint(), id + " is no longer the leader"));
            return;
        }
        String leader = node.leaderId();
        if (leader == null) {
            waitForLeader(r);
        } else if (r.kind == Request.Kind.WRITE) {
            forward(r, leader);
        } else {
            readIndex(r);
        }
    }

    private void propose(Request r) {
        // Calls that timed out gave their budget back while their entries may still be on the way to
        // disk, a majority or the state machine. Bound that backlog too: entries proposed in this term
        // and not yet applied. The budget alone allows maxPendingRequests of them, so this only bites
        // once as many again have timed out.
        long entries = node.lastIndex() - Math.max(node.appliedIndex(), leaderStartIndex);
        if (entries >= maxProposalBacklog) {
            metrics.busy();
            r.fail(new ServerBusyException(id + " has " + entries + " proposed entries not yet applied (limit "
                    + maxProposalBacklog + ")"));
            return;
        }
        // The same backlog in bytes: each entry may be large, so a count alone does not bound memory.
        backlog.trimTo(node.appliedIndex());
        if (backlog.bytes() + r.payload.length > config.maxPendingBytes()) {
            metrics.busy();
            r.fail(new ServerBusyException(id + " has " + backlog.bytes() + " bytes proposed and not yet applied (limit "
                    + config.maxPendingBytes() + ")"));
            return;
        }
        // And the disk: while it is this far behind, more proposals would only queue in memory.
        if (storage.queuedBytes() > config.maxPendingBytes()) {
            metrics.busy();
            r.fail(new ServerBusyException(id + " has " + storage.queuedBytes() + " bytes waiting for the disk (limit "
                    + config.maxPendingBytes() + ")"));
            return;
        }
        long index = node.propose(r.registration ? EntryType.REGISTER_SESSION : EntryType.SESSION_COMMAND, r.payload);
        if (index == RaftNode.NOT_LEADER) {
            throw new IllegalStateException(id + ": propose refused while leader");
        }
        if (index == RaftNode.TRANSFERRING_LEADERSHIP) {
            // This leader hands leadership over (thesis §3.10) and appends nothing meanwhile, for at
            // most an election timeout. Nothing was appended, so the call waits as for an election
            // and goes to whoever leads once the transfer ends (onTransferEnded, onSoftState): a
            // rolling restart with transfers fails no write.
            waitForLeader(r);
            return;
        }
        metrics.proposed(index);
        r.index = index;
        r.term = node.currentTerm();
        r.stage = Request.Stage.PROPOSED;
        if (r.sample != null) {
            r.sample.proposed(index);
        }
        backlog.add(index, r.payload.length);
        applier.submit(r);
    }

    private void readIndex(Request r) {
        // The lease is measured in the core's ticks, so only while they are up to date with the
        // clock: no tick due yet. Otherwise (a turn that has not ticked yet) it is a ReadIndex read.
        boolean lease = r.lease && coreTicksCurrent();
        RaftNode.ReadAccepted accepted = lease ? node.leaseRead(r.id) : node.readIndex(r.id);
        if (accepted == RaftNode.ReadAccepted.ACCEPTED) {
            r.stage = Request.Stage.READING;
            readsInCore.put(r.id, r);
        } else {
            waitForLeader(r);
        }
    }

    /** Why a stale read bounded by {@code maxLag} may not be answered here, or null if it may. */
    private String tooFarBehind(long maxLag) {
        if (!node.leaderHeardRecently()) {
            return id + " has not heard from a leader within an election timeout, so it cannot tell how far behind it is";
        }
        long lag = node.knownLeaderCommit() - node.appliedIndex();
        return lag > maxLag ? id + " has applied up to " + node.appliedIndex() + ", " + lag
                + " entries behind the leader's commit index it knows of (" + node.knownLeaderCommit() + "); the bound is "
                + maxLag : null;
    }

    private void forward(Request r, String leader) {
        r.stage = Request.Stage.FORWARDED;
        r.sentTo = leader;
        forwarded.put(r.id, r);
        ClientRequest.Kind kind = r.registration ? ClientRequest.Kind.REGISTER_SESSION
                : r.kind == Request.Kind.WRITE ? ClientRequest.Kind.WRITE : ClientRequest.Kind.READ;
        transport.send(new ClientRequest(id, leader, r.id, kind, r.payload));
    }

    private void waitForLeader(Request r) {
        r.stage = Request.Stage.WAITING_FOR_LEADER;
        r.leaderWaitUntilNanos = Math.min(r.deadlineNanos, clock.nanoTime() + leaderWaitNanos);
        waitingForLeader.add(r);
    }

    private void retryAfterNotLeader(Request r, ClientReply m) {
        if (r.attempts >= MAX_ATTEMPTS) {
            r.fail(new NotLeaderException(m.leaderHint(), m.from() + " is not the leader"));
            return;
        }
        String leader = node.leaderId();
        if (node.role() == Role.LEADER || (leader != null && !leader.equals(m.from()))) {
            route(r);
        } else {
            // We still believe in the node that just said no: wait for news of the new leader.
            waitForLeader(r);
        }
    }

    private void timeOut(Request r) {
        forwarded.remove(r.id);
        readsInCore.remove(r.id);
        long millis = config.requestTimeoutMillis();
        if (r.stage == Request.Stage.WAITING_FOR_LEADER) {
            r.fail(new NotLeaderException(status.leaderHint(), id + " knows no leader (request timed out after "
                    + millis + " ms)"));
        } else if (r.kind == Request.Kind.WRITE) {
            r.fail(new UnknownOutcomeException("write not acknowledged within " + millis + " ms on " + id
                    + "; it may or may not be applied"));
        } else {
            r.fail(new ReadTimeoutException("read not answered within " + millis + " ms on " + id));
        }
        LOG.debug("{} timed out a {} call at stage {}", id, r.kind, r.stage);
    }

    private void reply(ClientRequest m, ClientReply.Status replyStatus, String leaderHint, String detail) {
        transport.send(new ClientReply(id, m.from(), m.requestId(), replyStatus, RemoteRequest.EMPTY, leaderHint,
                detail));
    }
}
