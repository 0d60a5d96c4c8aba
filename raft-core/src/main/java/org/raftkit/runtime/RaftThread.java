package org.raftkit.runtime;

import java.util.concurrent.TimeUnit;

import org.raftkit.RaftConfig;
import org.raftkit.RaftListener;
import org.raftkit.RaftException;
import org.raftkit.Role;
import org.raftkit.core.RaftNode;
import org.raftkit.core.Ready;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.ClientReply;
import org.raftkit.message.ClientRequest;
import org.raftkit.message.InstallSnapshotReply;
import org.raftkit.message.Message;
import org.raftkit.message.RaftMessage;
import org.raftkit.message.ReadIndexRequest;
import org.raftkit.spi.Scheduler;
import org.raftkit.spi.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Raft loop ({@code raftkit-<id>-raft}): the only code that touches the {@link RaftNode}. The
 * {@link Scheduler} runs its {@link #step()}s: on one thread in production, interleaved with every
 * other loop of the cluster in the simulator.
 *
 * <p>Each turn ({@link #step()}):
 * <ol>
 *   <li>drains local work from the {@link Inbox} (client calls, persisted and applied reports),
 *       then inbound messages, so that calls arriving together are proposed together and leave in
 *       as few AppendEntries as the batch limits allow;</li>
 *   <li>ticks the core once per {@code RaftConfig.tickMillis} of {@link Scheduler#nanoTime()}
 *       (the runtime may read the clock, the core may not), and expires client calls;</li>
 *   <li>takes {@code node.ready()} and hands each part out in the order its Javadoc gives: send
 *       {@code messages} now; queue persistence and {@code messagesAfterPersist} for the storage
 *       thread; queue committed entries and read states for the apply thread;</li>
 *   <li>returns the time of the next tick; the scheduler runs the next turn then, or sooner when
 *       work arrives. It never waits itself.</li>
 * </ol>
 * Any exception from the core is a broken invariant: the node stops (fail-stop).
 */
final class RaftThread {

    private static final Logger LOG = LoggerFactory.getLogger(RaftThread.class);

    /** Most inbound messages handled per turn, so ticks and local work are never starved. */
    private static final int MAX_MESSAGES_PER_TURN = 4096;
    /** Most ticks caught up in one turn after a stall; later ones are skipped (time runs slow, safely). */
    private static final int MAX_CATCH_UP_TICKS = 3;
    /** Most ready() rounds per turn (handing out a Ready can create work for the next). */
    private static final int MAX_READY_ROUNDS = 4;

    private final String id;
    private final RaftNode node;
    private final Inbox inbox;
    private final Transport transport;
    private final StorageWriter storage;
    private final Applier applier;
    private final ClientCalls calls;
    private final MembershipCalls membership;
    private final LiveStatus status;
    private final RaftListener listener;
    private final RaftRuntime runtime;
    private final Scheduler clock;
    private final SnapshotDuties snapshots;
    private final SnapshotLoop snapshotLoop;
    private final RuntimeMetrics metrics;
    /** The role, term and leader last handed to the listener, or null before the first. */
    private Ready.SoftState lastSoftState;
    private final long tickNanos;
    /** Entry bytes waiting for the disk beyond which inbound entries are dropped; see {@link #drainMessages}. */
    private final long maxStorageBacklogBytes;
    /** AppendEntries dropped because the disk was that far behind. */
    private long droppedForBacklog;
    private long nextTick;
    private boolean stopped;
    /** The index of the configuration in use, as last reported by the core. */
    private long configurationIndex;
    /** Whether the transport was also told the committed configuration's members, until the one in use commits. */
    private boolean awaitingCommit;
    /** Stamps sampled writes as they pass this loop; null (the default) when not tracing. */
    private CommandTrace trace;

    RaftThread(String id, RaftNode node, RaftConfig config, Inbox inbox, Transport transport, StorageWriter storage,
               Applier applier, ClientCalls calls, LiveStatus status, RaftListener listener, RaftRuntime runtime,
               Scheduler clock, RuntimeMetrics metrics, SnapshotDuties snapshots, SnapshotLoop snapshotLoop,
               MembershipCalls membership) {
        this.membership = membership;
        this.metrics = metrics;
        this.id = id;
        this.node = node;
        this.inbox = inbox;
        this.transport = transport;
        this.storage = storage;
        this.applier = applier;
        this.calls = calls;
        this.status = status;
        this.listener = listener;
        this.runtime = runtime;
        this.clock = clock;
        this.snapshots = snapshots;
        this.snapshotLoop = snapshotLoop;
        this.tickNanos = TimeUnit.MILLISECONDS.toNanos(config.tickMillis());
        this.maxStorageBacklogBytes = config.maxPendingBytes();
        this.nextTick = clock.nanoTime() + tickNanos;
        calls.nextTickNanos = nextTick;
    }

    /** Stamps sampled writes' stages with {@code trace}; before the loop starts. */
    void useTrace(CommandTrace trace) {
        this.trace = trace;
    }

    /** The core this loop drives; only for code that runs on this loop (or the simulator between turns). */
    RaftNode node() {
        return node;
    }

    /**
     * One turn of the loop; see the class comment. Raft loop only.
     *
     * @return when to run again, as {@link Scheduler.Step#run()} says
     */
    long step() {
        if (stopped) {
            return Scheduler.Step.IDLE;
        }
        if (!runtime.isRunning()) {
            stop(runtime.closedException());
            return Scheduler.Step.IDLE;
        }
        try {
            drainLocal();
            drainMessages();
            long now = clock.nanoTime();
            if (now - nextTick >= 0) {
                nextTick = tick(now, nextTick);
            }
            boolean moreReady = handOutReadies();
            snapshots.maybeTake(now);
            publishStatus();
            return moreReady ? Scheduler.Step.AGAIN : nextTick;
        } catch (RuntimeException | Error e) {
            runtime.failStop("raft", e);
            stop(runtime.closedException());
            return Scheduler.Step.IDLE;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Inputs
    // ---------------------------------------------------------------------------------------------

    private void drainLocal() {
        Object work;
        while ((work = inbox.pollLocal()) != null) {
            if (work instanceof Request r) {
                calls.onLocal(r);
            } else if (work instanceof Inbox.Persisted p) {
                node.onPersisted(p.index(), p.term());
            } else if (work instanceof Inbox.Applied a) {
                node.onApplied(a.index());
            } else if (work instanceof Inbox.SnapshotTaken t) {
                snapshots.onTaken(t.info(), clock.nanoTime());
            } else if (work instanceof Inbox.SnapshotReceived r) {
                snapshots.onReceived(r.info(), r.leader(), r.state());
            } else if (work instanceof Inbox.SnapshotRequest r) {
                snapshots.request(r.future());
            } else if (work instanceof MembershipCalls.Call c) {
                membership.onCall(c, clock.nanoTime());
            } else if (work instanceof MembershipCalls.Transfer t) {
                membership.onTransfer(t);
            } else {
                throw new IllegalStateException(id + ": unexpected local work " + work);
            }
        }
    }

    private void drainMessages() {
        Message m;
        // Entry bytes taken this turn: they reach the storage queue only when this turn's Ready does.
        long taken = 0;
        for (int i = 0; i < MAX_MESSAGES_PER_TURN && (m = inbox.pollMessage()) != null; i++) {
            if (!m.to().equals(id)) {
                LOG.debug("{} dropped a message for {}: {}", id, m.to(), m);
            } else if (m instanceof AppendEntries ae && !ae.entries().isEmpty()
                    && storage.queuedBytes() + taken > maxStorageBacklogBytes) {
                // The disk is far behind: taking more entries would only queue them in memory. Drop
                // them, as a full inbox would; the leader sends them again (§5.3: it retries).
                droppedForBacklog++;
                LOG.debug("{} dropped AppendEntries from {}: {} bytes wait for the disk", id, ae.from(),
                        storage.queuedBytes() + taken);
            } else if (m instanceof RaftMessage rm) {
                if (trace != null && rm instanceof AppendEntriesReply reply) {
                    trace.acknowledged(reply);
                }
                if (rm instanceof AppendEntries ae) {
                    for (var e : ae.entries()) {
                        taken += e.sizeBytes();
                    }
                }
                if (rm instanceof ReadIndexRequest r && r.lease() && !calls.coreTicksCurrent()) {
                    // A tick is overdue, so the core's count is behind the clock and its lease
                    // could look longer than it is: confirm this one with a round (as ClientCalls
                    // does for a local lease read).
                    rm = r.withoutLease();
                }
                node.step(rm);
                if (m instanceof InstallSnapshotReply r && snapshotLoop != null) {
                    snapshotLoop.submit(r); // the transfer's progress; the core saw the term and the end
                }
            } else if (m instanceof ClientRequest cr) {
                calls.onClientRequest(cr);
            } else if (m instanceof ClientReply cr) {
                calls.onClientReply(cr);
            }
        }
    }

    /** Ticks for the time that passed (catching up a little after a stall); returns the next tick time. */
    private long tick(long now, long nextTick) {
        for (int i = 0; i < MAX_CATCH_UP_TICKS && now - nextTick >= 0; i++) {
            node.tick();
            nextTick += tickNanos;
        }
        if (now - nextTick >= 0) {
            nextTick = now + tickNanos;
            node.ticksSkipped(); // a leader's lease must not count on the ticks it never saw
        }
        calls.nextTickNanos = nextTick;
        calls.expire(now);
        membership.onTick(now);
        return nextTick;
    }

    // ---------------------------------------------------------------------------------------------
    // Outputs, in the order Ready's Javadoc gives
    // ---------------------------------------------------------------------------------------------

    /** Hands out Readies until one is empty (or the round limit); returns whether more may be ready. */
    private boolean handOutReadies() {
        for (int round = 0; round < MAX_READY_ROUNDS; round++) {
            Ready rd = node.ready();
            if (rd.isEmpty()) {
                return false;
            }
            handOut(rd);
        }
        return true;
    }

    private void handOut(Ready rd) {
        // News first: a new configuration's addresses reach the transport before this Ready's
        // messages to its new members are sent.
        Ready.MembershipNews news = rd.membership();
        if (news != null && news.configuration() != null) {
            onConfiguration(news.configuration());
        }
        // 1. A leader's messages need nothing of this Ready to be durable.
        for (RaftMessage m : rd.messages()) {
            if (trace != null && m instanceof AppendEntries ae) {
                trace.sent(ae);
            }
            transport.send(m);
        }
        // 2 and 3. Persist, then send what depends on it, FIFO after every earlier Ready's persistence.
        Ready.SnapshotWork sw = rd.snapshots();
        if (rd.mustPersist() || !rd.messagesAfterPersist().isEmpty()) {
            Ready.Installed reset = sw != null && sw.installed() != null && sw.installed().logDiscarded()
                    ? sw.installed() : null;
            storage.submit(new StorageWriter.Task(rd.termAndVote(), reset, rd.entriesToPersist(),
                    sw == null ? 0 : sw.compactTo(), rd.messagesAfterPersist()));
        }
        // Snapshot work before applying: an installed snapshot resets the state machine first.
        if (sw != null) {
            snapshots.handOut(sw, node.currentTerm());
        }
        // 4. Committed entries are on a majority: apply them while our own copy may still be persisting.
        if (!rd.committedEntries().isEmpty()) {
            if (trace != null) {
                // Before the hand-over: the apply thread may otherwise apply and answer it first.
                trace.committed(rd.committedEntries().get(rd.committedEntries().size() - 1).index());
            }
            applier.submitCommitted(rd.committedEntries());
            snapshots.onCommitted(rd.committedEntries());
        }
        // 5. Reads.
        calls.onReadStates(rd.readStates());
        calls.onFailedReads(rd.failedReads());
        // A change completed before the role changed: a leader that removed itself steps down in
        // the same Ready, and its caller must hear of the completion, not of the step-down.
        if (news != null) {
            membership.onCompleted(news.changesCompleted(), clock.nanoTime());
        }
        // Last, as its calls may propose (into the next Ready).
        if (rd.softState() != null) {
            onSoftState(rd.softState());
        }
        if (news != null) {
            if (!news.transfers().isEmpty()) {
                membership.onTransfers(news.transfers());
                calls.onTransferEnded(); // writes held during the transfer go to whoever leads now
            }
        }
    }

    /**
     * The configuration in use changed (thesis §4.1: at once, committed or not): status reports
     * it, and the transport learns its members' addresses. The transport is told every member of
     * either part but this node, with the address the configuration gives (empty for a member
     * added by id alone, which the transport then keeps as it was configured).
     */
    private void onConfiguration(Ready.ConfigurationState state) {
        status.configuration(state.index(), state.configuration());
        configurationIndex = state.index();
        if (!state.configuration().allMembers().isEmpty()) {
            // A node waiting to be added knows no member yet: its transport keeps the peers it was
            // configured with, which is how it answers the leader that adds it.
            tellTransport();
        }
        LOG.info("{} uses configuration {} at index {}", id, MembershipCalls.describe(state.configuration()),
                state.index());
    }

    /**
     * Tells the transport the members to reach: those of the configuration in use and, until it is
     * committed, those of the committed one too. A leader keeps replicating to the servers a change
     * removes until the change commits, so that they learn of it and stay quiet (thesis §4.2.2);
     * their connections must outlive the uncommitted entry.
     */
    private void tellTransport() {
        java.util.Map<String, String> addresses = new java.util.LinkedHashMap<>();
        for (org.raftkit.core.Configuration.Member m : node.configuration().allMembers()) {
            addresses.put(m.id(), m.address());
        }
        long committed = Math.max(node.commitIndex(), node.snapshotIndex());
        awaitingCommit = configurationIndex > committed;
        if (awaitingCommit) {
            for (org.raftkit.core.Configuration.Member m : node.configurationAt(committed).allMembers()) {
                addresses.putIfAbsent(m.id(), m.address());
            }
        }
        addresses.remove(id);
        try {
            transport.updateMembers(addresses);
        } catch (RuntimeException e) {
            // The contract says it does not throw; a transport that does must not stop Raft, which
            // works on with the addresses the transport had.
            LOG.warn("{}: Transport.updateMembers threw; the transport keeps its old addresses", id, e);
        }
    }

    private void onSoftState(Ready.SoftState soft) {
        metrics.roleChanged(soft.role(), soft.leaderId());
        if (soft.equals(lastSoftState)) {
            // A pre-candidate's next attempt re-enters the same state: nothing changed for the
            // listener, whose contract is changes only (a cut-off node would repeat it 5 times a second).
            return;
        }
        lastSoftState = soft;
        status.role = soft.role();
        status.term = soft.term();
        status.leaderId = soft.leaderId();
        if (soft.leaderId() != null) {
            status.lastKnownLeader = soft.leaderId();
        }
        try {
            listener.onRoleChange(soft.role(), soft.term(), soft.leaderId());
        } catch (RuntimeException e) {
            LOG.warn("{}: RaftListener.onRoleChange threw; ignored", id, e);
        }
        calls.onSoftState(soft);
        membership.onSoftState(soft);
    }

    private void publishStatus() {
        if (awaitingCommit && node.commitIndex() >= configurationIndex) {
            tellTransport(); // the configuration in use is committed: members it removed can go
        }
        status.commitIndex = node.commitIndex();
        status.lastIndex = node.lastIndex();
        status.firstLogIndex = node.firstIndex();
        status.term = node.currentTerm();
        metrics.published(status.commitIndex);
        metrics.followers(node);
    }

    // ---------------------------------------------------------------------------------------------
    // Stopping
    // ---------------------------------------------------------------------------------------------

    /**
     * Fails every call in flight, including those still queued, and stops the other loops. Once;
     * on the Raft loop, or by {@code close()} once the loop has ended.
     */
    void stop(RaftException failure) {
        if (stopped) {
            return;
        }
        stopped = true;
        storage.stop();
        applier.stop();
        if (snapshotLoop != null) {
            snapshotLoop.stop();
        }
        snapshots.fail(failure);
        // A stopped node leads nothing, whatever it was when it stopped.
        status.role = Role.FOLLOWER;
        status.leaderId = null;
        calls.failAll(failure);
        membership.failAll(failure);
        Object work;
        while ((work = inbox.pollLocal()) != null) {
            if (work instanceof Request r) {
                r.fail(failure);
            }
        }
        LOG.debug("{} raft loop stopped", id);
    }
}
