package org.raftkit.runtime;

import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.raftkit.ClusterConfiguration;
import org.raftkit.CommandTooLargeException;
import org.raftkit.RaftConfig;
import org.raftkit.RaftException;
import org.raftkit.RaftListener;
import org.raftkit.RaftStatus;
import org.raftkit.ServerBusyException;
import org.raftkit.ServerClosedException;
import org.raftkit.SnapshotConfig;
import org.raftkit.StateMachine;
import org.raftkit.core.Configuration;
import org.raftkit.core.Configuration.Member;
import org.raftkit.core.RaftNode;
import org.raftkit.metrics.RaftMetrics;
import org.raftkit.spi.LogStorage;
import org.raftkit.spi.Scheduler;
import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;
import org.raftkit.spi.TermVoteStore;
import org.raftkit.spi.TermVoteStore.TermAndVote;
import org.raftkit.spi.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node's runtime: the core plus its Raft, storage and apply threads, wired together, and the
 * lifecycle (start, fail-stop, close). Internal: applications use {@link org.raftkit.RaftServer},
 * which delegates here.
 *
 * <p>Client calls enter on any thread: each takes a share of the {@link RequestBudget} (or fails at
 * once as busy) and is queued for the Raft thread. See the package Javadoc for the threads.
 */
public final class RaftRuntime {

    private static final Logger LOG = LoggerFactory.getLogger(RaftRuntime.class);

    /** Most inbound messages queued for the Raft thread; more are dropped (Raft retries). */
    static final int MAX_INBOUND_MESSAGES = 16_384;
    /** How long {@link #close()} waits for each thread to end before giving up on it (logged). */
    static final long JOIN_TIMEOUT_MILLIS = 10_000;

    private final String id;
    private final RaftConfig config;
    private final LogStorage logStorage;
    private final TermVoteStore termVoteStore;
    private final Transport transport;
    private final RaftListener listener;
    private final Scheduler scheduler;
    private final long timeoutNanos;

    private final AtomicReference<RaftStatus.State> state = new AtomicReference<>(RaftStatus.State.NEW);
    /** The error that stopped the node (set once, before the state becomes FAILED), or null. */
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    private final RequestBudget budget;
    /** This incarnation's session: every write submitted here is a session command in it. */
    private final ClientSession session;
    private final Inbox inbox;
    private final LiveStatus status;
    private final RuntimeMetrics metrics;
    /** Samples writes through their stages when {@code -Draftkit.trace.every} asks for it; usually null. */
    private final CommandTrace trace;
    private final StorageWriter storageWriter;
    private final Applier applier;
    private final RaftThread raftLoop;
    private final SnapshotStore snapshotStore;
    private final SnapshotLoop snapshotLoop;
    private Scheduler.Loop snapshotRun;
    private Scheduler.Loop raftRun;
    private Scheduler.Loop storageRun;
    private Scheduler.Loop applyRun;

    /**
     * Builds the node from its durable state: loads term and vote from {@code termVoteStore}
     * (on this thread, as its contract says) and reads the log. Starts nothing.
     *
     * @param id            this node's id
     * @param initial       the configuration at index 0, until the log or a snapshot says otherwise
     *                      ({@link ClusterStart#prepare}); {@link Configuration#EMPTY} for a node that waits to be added
     * @param config        timeouts and limits
     * @param stateMachine  the application's state; starts empty and is re-fed the whole log
     * @param logStorage    the log; owned by this runtime from now on and closed by {@link #close()}
     * @param termVoteStore term and vote; owned and closed likewise
     * @param transport     the network; owned and closed likewise
     * @param seed          seed of the core's election-timeout jitter
     * @param listener      told of role changes and failure
     * @param scheduler     the clock and the threads ({@link ThreadScheduler#INSTANCE} in production)
     * @param metrics       where the node reports what it does; {@link RaftMetrics#NONE} for nothing
     * @param snapshotStore where snapshots are kept, or null for none (the log is then never compacted);
     *                      owned and closed likewise
     * @param snapshotConfig when snapshots are taken and how they are sent
     */
    public RaftRuntime(String id, Configuration initial, RaftConfig config, StateMachine stateMachine,
                       LogStorage logStorage, TermVoteStore termVoteStore, Transport transport, long seed,
                       RaftListener listener, Scheduler scheduler, RaftMetrics metrics, SnapshotStore snapshotStore,
                       SnapshotConfig snapshotConfig) {
        this.id = Objects.requireNonNull(id, "id");
        this.config = Objects.requireNonNull(config, "config");
        this.logStorage = Objects.requireNonNull(logStorage, "logStorage");
        this.termVoteStore = Objects.requireNonNull(termVoteStore, "termVoteStore");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(stateMachine, "stateMachine");
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMillis());

        this.snapshotStore = snapshotStore;
        TermAndVote termAndVote = termVoteStore.load();
        SnapshotInfo startFrom = StartingSnapshot.choose(id, snapshotStore, logStorage);
        long snapshotIndex = startFrom == null ? 0 : startFrom.index();
        Configuration atStart = startFrom == null ? initial : startFrom.configuration();
        RaftNode node = new RaftNode(id, atStart, config, logStorage, termAndVote, new SplittableRandom(seed),
                snapshotIndex, startFrom == null ? 0 : startFrom.term());
        if (startFrom != null) {
            // Storage deletes whole segments, so it may still hold entries before the trailing
            // window that the node had stopped reading before it stopped. The restarted node starts
            // where that node's log started, not where the segment files happen to begin; the
            // storage thread deletes what it can at its first turn, as after any snapshot.
            node.compactLog(snapshotIndex - snapshotConfig.trailingEntries());
        }
        LOG.info("{} starts at term {} (voted for {}), snapshot at {}, log [{}, {}] ([{}, {}] on disk), members {}, "
                        + "random seed {}", id, termAndVote.currentTerm(), termAndVote.votedFor(), snapshotIndex,
                node.firstIndex(), node.lastIndex(), logStorage.firstIndex(), logStorage.lastIndex(),
                MembershipCalls.describe(node.configuration()), seed);

        this.budget = new RequestBudget(config.maxPendingRequests(), config.maxPendingBytes());
        this.session = new ClientSession(Sessions.nodeSessionId(scheduler.newIncarnationId()));
        // Room for the budget plus one full AppendEntries: a limit below one batch would drop every
        // batch on arrival, and a follower behind by more than it would never catch up.
        this.inbox = new Inbox(MAX_INBOUND_MESSAGES,
                config.maxPendingBytes() + config.maxAppendBytes() + config.maxCommandBytes());
        this.status = new LiveStatus(id, new ClusterConfiguration(node.configurationIndex(),
                node.configuration()));
        status.term = node.currentTerm();
        status.commitIndex = node.commitIndex();
        status.lastIndex = node.lastIndex();
        status.firstLogIndex = node.firstIndex();

        // Latencies are measured on the scheduler's clock, so they are virtual under the simulator.
        this.metrics = new RuntimeMetrics(id, node.voters(), Objects.requireNonNull(metrics, "metrics"), status,
                budget, inbox, scheduler::nanoTime);
        FailStop failStop = this::failStop;
        // The state machine starts empty: restored from the snapshot first if there is one, then
        // fed the log after it.
        Applier applier = new Applier(id, stateMachine, 0, inbox, status, failStop, this.metrics);
        StorageWriter storage = new StorageWriter(logStorage, termVoteStore, transport, inbox, failStop, this.metrics);
        boolean takesSnapshots = snapshotStore != null && overridesSnapshot(stateMachine);
        if (snapshotStore != null && !takesSnapshots) {
            LOG.warn("{}: {} does not implement StateMachine.snapshot(), so this node takes no snapshots and its "
                    + "log is never compacted", id, stateMachine.getClass().getName());
        }
        this.snapshotLoop = snapshotStore == null ? null : new SnapshotLoop(id, snapshotStore,
                snapshotConfig, transport, inbox, status, scheduler);
        applier.useSnapshots(snapshotStore, snapshotLoop);
        applier.configurationAtStart(node.configurationAt(node.snapshotIndex()));
        if (startFrom != null) {
            try {
                applier.restore(startFrom, snapshotStore.openState(startFrom));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(id + ": cannot read the snapshot at index " + startFrom.index()
                        + " to start from: " + e.getMessage(), e);
            }
        }
        SnapshotDuties duties = new SnapshotDuties(id, node, snapshotConfig, takesSnapshots ? snapshotLoop : null,
                applier, status, startFrom, scheduler.nanoTime());
        ClientCalls calls = new ClientCalls(id, node, config, transport, applier, budget, status, scheduler,
                storage, this.metrics);
        MembershipCalls membership = new MembershipCalls(id, node, status, timeoutNanos);
        this.raftLoop = new RaftThread(id, node, config, inbox, transport, storage, applier, calls, status,
                listener, this, scheduler, this.metrics, duties, snapshotLoop, membership);
        this.storageWriter = storage;
        this.applier = applier;
        this.trace = CommandTrace.fromSystemProperties(id, scheduler::nanoTime);
        if (trace != null) {
            raftLoop.useTrace(trace);
            storage.useTrace(trace);
            LOG.info("{} traces one write in every {} (-Draftkit.trace.every)", id, System.getProperty("raftkit.trace.every"));
        }
        this.metrics.queues(metrics, id, storage::queued, applier::queued);
    }

    /** Whether the machine's class implements {@link StateMachine#snapshot()} rather than inheriting the default. */
    private static boolean overridesSnapshot(StateMachine machine) {
        try {
            return machine.getClass().getMethod("snapshot").getDeclaringClass() != StateMachine.class;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    /** This node's id. */
    public String id() {
        return id;
    }

    /**
     * Starts the transport and the threads. Once only.
     *
     * @throws IllegalStateException if already started or closed
     */
    public synchronized void start() {
        if (!state.compareAndSet(RaftStatus.State.NEW, RaftStatus.State.RUNNING)) {
            throw new IllegalStateException(id + " cannot start: it is " + state.get());
        }
        try {
            transport.start(message -> {
                if (isRunning() && !inbox.offerMessage(message)) {
                    LOG.debug("{} dropped an inbound message (inbox full): {}", id, message);
                }
            });
        } catch (RuntimeException e) {
            failure.compareAndSet(null, e);
            state.set(RaftStatus.State.FAILED);
            throw e;
        }
        // The Raft loop last: it feeds the other two, which must be there to be woken.
        storageRun = scheduler.start("raftkit-" + id + "-storage", storageWriter::step);
        storageWriter.bind(storageRun);
        applyRun = scheduler.start("raftkit-" + id + "-apply", applier::step);
        applier.bind(applyRun);
        if (snapshotLoop != null) {
            snapshotRun = scheduler.start("raftkit-" + id + "-snapshot", snapshotLoop::step);
            snapshotLoop.bind(snapshotRun);
        }
        raftRun = scheduler.start("raftkit-" + id + "-raft", raftLoop::step);
        inbox.bindConsumer(raftRun);
    }

    /** Replicates and applies a command; see {@code RaftServer.submit}. Any thread. */
    public CompletableFuture<byte[]> submit(byte[] command) {
        return call(Request.Kind.WRITE, Objects.requireNonNull(command, "command"));
    }

    /** Registers a session; completes with its id. See {@code RaftServer.openSession}. Any thread. */
    public CompletableFuture<Long> registerSession() {
        return call(Request.Kind.WRITE, RemoteRequest.EMPTY, -1, false, true)
                .thenApply(id -> java.nio.ByteBuffer.wrap(id).getLong());
    }

    /** This node's tracker of an application session's open calls (for {@code org.raftkit.Session}). */
    public ClientSession newSessionCalls(long sessionId) {
        return new ClientSession(sessionId);
    }

    /** A write in an application's session; see {@code Session.submit}. Any thread. */
    public CompletableFuture<byte[]> submitInSession(ClientSession calls, long sequence, byte[] command) {
        return call(Request.Kind.WRITE, command, -1, false, false, calls, sequence);
    }

    /** A linearizable read; see {@code RaftServer.read}. Any thread. */
    public CompletableFuture<byte[]> read(byte[] query) {
        return call(Request.Kind.READ, Objects.requireNonNull(query, "query"));
    }

    /** A lease-based read; see {@code RaftServer.leaseRead}. Any thread. */
    public CompletableFuture<byte[]> leaseRead(byte[] query) {
        if (!config.leaseReads()) {
            throw new IllegalStateException("lease reads are off on " + id + ": build it with RaftConfig.withLeaseReads");
        }
        return call(Request.Kind.READ, Objects.requireNonNull(query, "query"), -1, true, false);
    }

    /**
     * A read of the local state, at most {@code maxLagEntries} behind (-1: no bound); see
     * {@code RaftServer.staleRead}. Any thread.
     */
    public CompletableFuture<byte[]> staleRead(byte[] query, long maxLagEntries) {
        return call(Request.Kind.STALE_READ, Objects.requireNonNull(query, "query"), maxLagEntries);
    }

    /** Takes a snapshot now; see {@code RaftServer.snapshot}. Any thread. */
    public CompletableFuture<Long> snapshot() {
        CompletableFuture<Long> f = new CompletableFuture<>();
        if (state.get() != RaftStatus.State.RUNNING) {
            f.completeExceptionally(closedException());
            return f;
        }
        inbox.postLocal(new Inbox.SnapshotRequest(f));
        return f;
    }

    /** The configuration in use; see {@code RaftServer.configuration}. Any thread; never blocks. */
    public ClusterConfiguration configuration() {
        return status.configuration();
    }

    /** See {@code RaftServer.changeMembership}. Any thread. */
    public CompletableFuture<ClusterConfiguration> changeMembership(long expectedIndex, List<Member> members) {
        return membership(MembershipCalls.Op.CHANGE, expectedIndex, members, null, null, null);
    }

    /** See {@code RaftServer.addLearner}. Any thread. */
    public CompletableFuture<ClusterConfiguration> addLearner(String memberId, String address) {
        return membership(MembershipCalls.Op.ADD_LEARNER, 0, null, memberId, address, null);
    }

    /** See {@code RaftServer.promote}. Any thread. */
    public CompletableFuture<ClusterConfiguration> promote(String memberId) {
        return membership(MembershipCalls.Op.PROMOTE, 0, null, memberId, null, null);
    }

    /** See {@code RaftServer.removeMember}. Any thread. */
    public CompletableFuture<ClusterConfiguration> removeMember(String memberId) {
        return membership(MembershipCalls.Op.REMOVE, 0, null, memberId, null, null);
    }

    /** See {@code RaftServer.replaceMember}. Any thread. */
    public CompletableFuture<ClusterConfiguration> replaceMember(String oldId, String newId, String newAddress) {
        return membership(MembershipCalls.Op.REPLACE, 0, null, newId, newAddress, oldId);
    }

    private CompletableFuture<ClusterConfiguration> membership(MembershipCalls.Op op, long expectedIndex,
                                                               List<Member> members, String memberId, String address,
                                                               String oldId) {
        CompletableFuture<ClusterConfiguration> f = new CompletableFuture<>();
        postIfRunning(new MembershipCalls.Call(op, expectedIndex, members, memberId, address, oldId, f), f);
        return f;
    }

    /** Hands leadership to {@code target} (null: the most caught-up voter); see {@code RaftServer.transferLeadership}. Any thread. */
    public CompletableFuture<String> transferLeadership(String target) {
        CompletableFuture<String> f = new CompletableFuture<>();
        postIfRunning(new MembershipCalls.Transfer(target, f), f);
        return f;
    }

    /** Queues work for the Raft loop, or fails {@code f} if the node is not running; returns whether queued. */
    private boolean postIfRunning(Object work, CompletableFuture<?> f) {
        RaftStatus.State s = state.get();
        if (s == RaftStatus.State.NEW) {
            throw new IllegalStateException(id + " is not started");
        }
        if (s != RaftStatus.State.RUNNING) {
            f.completeExceptionally(closedException());
            return false;
        }
        inbox.postLocal(work);
        if (!isRunning()) {
            // Stopped while we queued: the Raft loop may have drained its inbox for the last time.
            f.completeExceptionally(closedException());
        }
        return true;
    }

    /** This node's status. Any thread; never blocks. */
    public RaftStatus status() {
        // State first: failStop sets the cause before FAILED, so a FAILED state always comes with it.
        RaftStatus.State s = state.get();
        return status.snapshot(s, failure.get());
    }

    /** The error that stopped the node, or null. */
    public Throwable failure() {
        return failure.get();
    }

    /**
     * Stops the node: fails every pending call with {@link ServerClosedException}, ends and joins
     * the threads, closes transport and storage. Idempotent. Meant for threads other than the node's
     * own; on one of those, that thread is not joined (it ends once it returns from its caller).
     */
    public synchronized void close() {
        handOverLeadership();
        RaftStatus.State was = state.getAndSet(RaftStatus.State.CLOSED);
        if (was == RaftStatus.State.CLOSED) {
            return;
        }
        if (was != RaftStatus.State.NEW) {
            // Once the Raft loop has ended, its last act is ours to do: fail every pending call and
            // stop the other two loops. It never waits on the state machine, so calls fail promptly
            // even if an apply is stuck.
            raftRun.stop();
            boolean ended = join(raftRun, "raft");
            if (ended || raftRun.isCurrent()) {
                raftLoop.stop(closedException());
            }
            storageWriter.stop();
            applier.stop();
            join(storageRun, "storage");
            join(applyRun, "apply");
            if (snapshotLoop != null) {
                snapshotLoop.stop();
                join(snapshotRun, "snapshot");
            }
        }
        closeQuietly("transport", transport);
        closeQuietly("log storage", logStorage);
        closeQuietly("term/vote store", termVoteStore);
        if (snapshotStore != null) {
            closeQuietly("snapshot store", snapshotStore);
        }
        if (trace != null) {
            LOG.info("{} stage trace: {}", id, trace.summary());
        }
        LOG.info("{} closed", id);
    }

    /**
     * Before a leader closes, it hands leadership to its most caught-up voter (thesis §3.10), so a
     * rolling restart waits for no election timeout and fails no write: writes arriving meanwhile
     * wait for the new leader. Bounded: at most twice the maximum election timeout, then the node
     * closes anyway (the others elect a leader as after a crash). Skipped on the node's own loops,
     * which the wait would block.
     */
    private void handOverLeadership() {
        if (!isRunning() || status.role != org.raftkit.Role.LEADER || raftRun == null || raftRun.isCurrent()
                || status.configuration().voters().size() < 2) {
            return;
        }
        long waitMillis = 2L * config.electionTimeoutMaxMillis();
        try {
            String leader = transferLeadership(null).get(waitMillis, TimeUnit.MILLISECONDS);
            LOG.info("{} handed leadership to {} before closing", id, leader);
        } catch (java.util.concurrent.ExecutionException e) {
            LOG.info("{} closes without handing leadership over: {}", id, e.getCause().getMessage());
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.info("{} closes without handing leadership over: no new leader within {} ms", id, waitMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Internal
    // ---------------------------------------------------------------------------------------------

    boolean isRunning() {
        return state.get() == RaftStatus.State.RUNNING;
    }

    /** See {@link FailStop}. */
    void failStop(String where, Throwable cause) {
        // The cause first, so whoever sees FAILED also sees why.
        if (!isRunning() || !failure.compareAndSet(null, cause)) {
            LOG.debug("{}: {} failed while stopping", id, where, cause);
            return;
        }
        state.compareAndSet(RaftStatus.State.RUNNING, RaftStatus.State.FAILED); // a racing close() wins: CLOSED
        LOG.error("{} stopped after a fatal {} error (fail-stop); it takes no further part in the cluster",
                id, where, cause);
        inbox.wake();
        try {
            listener.onFailure(cause);
        } catch (RuntimeException e) {
            LOG.warn("{}: RaftListener.onFailure threw; ignored", id, e);
        }
    }

    /** The exception pending calls fail with once the node stops. */
    RaftException closedException() {
        Throwable cause = failure.get();
        return cause == null
                ? new ServerClosedException(id + " is closed")
                : new ServerClosedException(id + " stopped after a fatal error: " + cause, cause);
    }

    private CompletableFuture<byte[]> call(Request.Kind kind, byte[] payload) {
        return call(kind, payload, -1);
    }

    private CompletableFuture<byte[]> call(Request.Kind kind, byte[] payload, long maxLagEntries) {
        return call(kind, payload, maxLagEntries, false, false);
    }

    private CompletableFuture<byte[]> call(Request.Kind kind, byte[] payload, long maxLagEntries, boolean lease,
                                           boolean registration) {
        return call(kind, payload, maxLagEntries, lease, registration, session, 0);
    }

    /**
     * @param maxLagEntries for a stale read, how many committed entries this node may lack (-1: no bound)
     * @param lease         for a read, whether the leader's lease may answer it
     * @param registration  a write that registers a session (empty payload, no session of its own)
     * @param writer        a write's session: this node's own, or an application's
     * @param givenSequence in an application's session, the write's number; 0: draw one (this node's session)
     */
    private CompletableFuture<byte[]> call(Request.Kind kind, byte[] payload, long maxLagEntries, boolean lease,
                                           boolean registration, ClientSession writer, long givenSequence) {
        RaftStatus.State s = state.get();
        if (s == RaftStatus.State.NEW) {
            throw new IllegalStateException(id + " is not started");
        }
        if (s != RaftStatus.State.RUNNING) {
            return CompletableFuture.failedFuture(closedException());
        }
        if (kind == Request.Kind.WRITE && payload.length > config.maxCommandBytes()) {
            return CompletableFuture.failedFuture(new CommandTooLargeException(payload.length, config.maxCommandBytes()));
        }
        if (payload.length > budget.maxBytes()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("payload of " + payload.length
                    + " bytes exceeds maxPendingBytes " + budget.maxBytes()));
        }
        if (!budget.tryAcquire(payload.length)) {
            metrics.busy();
            return CompletableFuture.failedFuture(new ServerBusyException(id + " has " + budget.requests()
                    + " pending requests (" + budget.bytes() + " bytes); limits " + budget.maxRequests() + " / "
                    + budget.maxBytes() + " bytes"));
        }
        LocalRequest r;
        if (registration) {
            r = new LocalRequest(kind, payload, scheduler.nanoTime() + timeoutNanos, budget);
            r.registration = true;
        } else if (kind == Request.Kind.WRITE) {
            long sequence;
            if (givenSequence == 0) {
                sequence = writer.open();
            } else if (writer.openGiven(givenSequence)) {
                sequence = givenSequence;
            } else {
                budget.release(payload.length);
                throw new IllegalArgumentException("session " + writer.clientId() + " already has write " + givenSequence
                        + " in flight on this node");
            }
            r = new LocalRequest(kind, Sessions.wrap(writer.clientId(), sequence, writer.floor(sequence), payload),
                    scheduler.nanoTime() + timeoutNanos, budget, writer, sequence);
        } else {
            r = new LocalRequest(kind, payload, scheduler.nanoTime() + timeoutNanos, budget);
            r.maxLagEntries = maxLagEntries;
            r.lease = lease;
        }
        if (trace != null && kind == Request.Kind.WRITE) {
            r.sample = trace.start();
        }
        inbox.postLocal(r);
        if (!isRunning()) {
            // Stopped while we queued: the Raft thread may have drained its inbox for the last time.
            r.fail(closedException());
        }
        return r.future();
    }

    /** Waits for a loop to end; returns whether it did. */
    private boolean join(Scheduler.Loop loop, String name) {
        if (loop.isCurrent()) {
            // close() from a listener or a future's stage: this loop ends once close() returns to it.
            LOG.warn("{}: close() called on the {} loop, which cannot join itself", id, name);
            return false;
        }
        try {
            if (loop.join(JOIN_TIMEOUT_MILLIS)) {
                return true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warn("{}: interrupted while joining the {} loop", id, name);
            return false;
        }
        LOG.warn("{}: the {} loop did not end within {} ms (a state machine call may be stuck)", id, name,
                JOIN_TIMEOUT_MILLIS);
        return false;
    }

    private void closeQuietly(String what, AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception e) {
            LOG.warn("{}: closing the {} failed", id, what, e);
        }
    }

    /** The Raft loop; for the simulator, which checks the core between turns. */
    RaftThread raftLoop() {
        return raftLoop;
    }

    /** The storage loop; for the simulator's memory checks. */
    StorageWriter storageWriter() {
        return storageWriter;
    }

    /** For tests: the calls currently holding a share of the budget. */
    int pendingRequests() {
        return budget.requests();
    }
}
