package org.raftkit.sim;

import static org.raftkit.sim.Simulation.FAULT_PHASE;
import static org.raftkit.sim.Simulation.MILLIS;
import static org.raftkit.sim.Simulation.TICK_MICROS;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.core.Configuration;
import org.raftkit.core.RaftNode;
import org.raftkit.core.ReadState;
import org.raftkit.core.Ready;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
import org.raftkit.message.RaftMessage;
import org.raftkit.sim.SimClients.ClientOp;
import org.raftkit.sim.SimContext.Event;
import org.raftkit.sim.lin.Outcome;
import org.raftkit.spi.TermVoteStore.TermAndVote;

/**
 * The simulated nodes, each a {@link RaftNode} driven exactly as {@link Ready}'s contract says: a
 * leader's messages leave at once; term, vote and entries go to a simulated disk that completes
 * writes in order after a delay; acknowledgements leave only when their write is done. A crash
 * loses every write not yet done (possibly keeping a prefix of them, as a real disk might), and a
 * restart rebuilds the node from what the disk holds.
 *
 * <p>After every input the node checks its own invariants and the {@link SafetyChecker} checks
 * Figure 3's properties.
 */
final class SimCluster {

    private final SimContext ctx;
    private final SplittableRandom random;
    private final List<String> ids;
    private final RaftConfig config;
    private final SimNetwork net;
    /** The servers of the initial configuration; the others start with none and wait to be added. */
    private final Configuration initial;
    private final SafetyChecker safety;
    private final Map<String, SimNode> nodes = new HashMap<>();
    /** Set by {@link #attach}: clients and nemesis are built with this cluster, so they come after it. */
    private SimClients clients;
    private Nemesis nemesis;

    /**
     * @param ids      every server of the run, the spares included
     * @param initialVoters the initial configuration's voters; the other servers start with no configuration
     */
    SimCluster(SimContext ctx, List<String> ids, List<String> initialVoters, RaftConfig config, SimNetwork net) {
        this.ctx = ctx;
        this.random = ctx.random;
        this.ids = ids;
        this.config = config;
        this.net = net;
        this.initial = Configuration.ofVoters(initialVoters);
        this.safety = new SafetyChecker(initial);
    }

    SafetyChecker safety() {
        return safety;
    }

    /** Completes the wiring: a node answers its clients, and the nemesis watches its Readies. */
    void attach(SimClients clients, Nemesis nemesis) {
        this.clients = clients;
        this.nemesis = nemesis;
    }

    List<String> ids() {
        return ids;
    }

    SimNode node(String id) {
        return nodes.get(id);
    }

    Collection<SimNode> nodes() {
        return nodes.values();
    }

    /** Creates node {@code id}, starts it from an empty disk and starts its ticks. */
    void start(String id) {
        SimNode n = new SimNode(id);
        nodes.put(id, n);
        n.tickMicros = TICK_MICROS - 500 + random.nextLong(1_000);
        restart(n);
        ctx.schedule(random.nextLong(TICK_MICROS), new Tick(n));
    }

    // ---------------------------------------------------------------------------------------------
    // Nodes: driving the core by the Ready contract
    // ---------------------------------------------------------------------------------------------

    /** One Ready's worth of persistence, done when the sync that covers it completes. */
    private record DiskWrite(TermAndVote termAndVote, List<Entry> entries, List<RaftMessage> afterPersist) {
    }

    static final class SimNode {
        final String id;
        /** Removed from the cluster and shut down for good: never restarted. */
        boolean retired;
        /** What survives a crash. */
        final MemoryLogStorage disk = new MemoryLogStorage();
        TermAndVote durableTermAndVote = new TermAndVote(0, null);
        /** Writes not yet durable, oldest first; the first {@code syncing} of them are in the sync under way. */
        final ArrayDeque<DiskWrite> diskQueue = new ArrayDeque<>();
        int syncing;
        long diskSlowFactor = 1;

        RaftNode core;
        int incarnation;
        boolean paused;
        final List<RaftMessage> heldWhilePaused = new ArrayList<>();
        long tickMicros;

        SimKv kv;
        long applied;
        long lastCommit;
        /** index → the write proposed at that index through this node. */
        final Map<Long, ClientOp> pendingWrites = new HashMap<>();
        /** read context → the read. */
        final Map<Long, ClientOp> pendingReads = new HashMap<>();
        /** Reads whose read index is known, waiting for apply to reach it. */
        final List<ClientOp> readsAwaitingApply = new ArrayList<>();

        SimNode(String id) {
            this.id = id;
        }
    }

    void restart(SimNode n) {
        if (n.retired) {
            return;
        }
        n.incarnation++;
        // The initial configuration at index 0 for its servers, none for the spares; the
        // configuration entries in the log replace it.
        n.core = new RaftNode(n.id, initial.contains(n.id) ? initial : Configuration.EMPTY, config, n.disk,
                n.durableTermAndVote, random.split(), 0, 0);
        n.kv = new SimKv();
        n.applied = n.core.appliedIndex();
        n.lastCommit = n.core.commitIndex();
        n.paused = false;
        n.heldWhilePaused.clear();
        ctx.note(n.id + " started (incarnation " + n.incarnation + ", term " + n.durableTermAndVote.currentTerm()
                + ", last index " + n.disk.lastIndex() + ")");
        afterInput(n);
    }

    void crash(SimNode n) {
        // Writes reach the disk in order; a crash keeps some prefix of those not yet done.
        List<DiskWrite> pending = new ArrayList<>(n.diskQueue);
        n.diskQueue.clear();
        n.syncing = 0;
        int keep = pending.isEmpty() ? 0 : random.nextInt(pending.size() + 1);
        for (int i = 0; i < keep; i++) {
            DiskWrite w = pending.get(i);
            boolean partial = i == keep - 1 && random.nextBoolean() && !w.entries.isEmpty();
            List<Entry> entries = partial ? w.entries.subList(0, random.nextInt(w.entries.size() + 1)) : w.entries;
            writeToDisk(n, new DiskWrite(w.termAndVote, entries, List.of()));
        }
        n.incarnation++;
        n.core = null;
        n.paused = false;
        n.heldWhilePaused.clear();
        for (ClientOp op : new ArrayList<>(n.pendingWrites.values())) {
            clients.complete(op, Outcome.UNKNOWN, null);
        }
        for (ClientOp op : new ArrayList<>(n.pendingReads.values())) {
            clients.complete(op, Outcome.UNKNOWN, null);
        }
        n.pendingWrites.clear();
        n.pendingReads.clear();
        n.readsAwaitingApply.clear();
        ctx.note(n.id + " crashed (kept " + keep + " of " + pending.size() + " unfinished disk writes)");
    }

    /** An operator shuts a removed server down for good. */
    void retire(SimNode n) {
        if (n.core != null) {
            crash(n);
        }
        n.retired = true;
        ctx.note(n.id + " retired (removed from the configuration)");
    }

    private void writeToDisk(SimNode n, DiskWrite w) {
        if (w.termAndVote != null) {
            safety.onHardStateDurable(n.id, w.termAndVote);
            n.durableTermAndVote = w.termAndVote;
        }
        if (!w.entries.isEmpty()) {
            long first = w.entries.get(0).index();
            if (first <= n.disk.lastIndex()) {
                n.disk.truncateSuffix(first);
            }
            n.disk.append(w.entries);
        }
    }

    /** Everything after an input: drain Ready batches and check invariants. */
    void afterInput(SimNode n) {
        while (true) {
            n.core.checkInvariants();
            Ready r = n.core.ready();
            if (r.isEmpty()) {
                break;
            }
            handleReady(n, r);
        }
        long commit = n.core.commitIndex();
        if (commit < n.lastCommit) {
            throw new IllegalStateException(n.id + " commitIndex went back from " + n.lastCommit + " to " + commit);
        }
        if (commit > n.lastCommit) {
            safety.onCommitted(n.id, n.core.entries(n.lastCommit + 1, commit + 1));
            n.lastCommit = commit;
        }
    }

    private void handleReady(SimNode n, Ready r) {
        RaftNode core = n.core;
        if (r.membership() != null && r.membership().configuration() != null) {
            ctx.note(n.id + " uses " + r.membership().configuration().configuration() + " (index "
                    + r.membership().configuration().index() + ")");
        }
        if (r.softState() != null) {
            Ready.SoftState s = r.softState();
            if (s.role() == Role.LEADER) {
                safety.onLeader(n.id, s.term());
                safety.checkLeaderCompleteness(n.id, s.term(), core::termAt);
                safety.checkLeaderConfiguration(n.id, s.term(), core.configuration());
            }
            ctx.note(n.id + " is " + s.role() + " at term " + s.term() + (s.leaderId() == null ? "" : " leader " + s.leaderId()));
        }
        if (!r.entriesToPersist().isEmpty()) {
            long first = r.entriesToPersist().get(0).index();
            safety.onEntriesInLog(n.id, core.termAt(first - 1), r.entriesToPersist());
        }
        for (RaftMessage m : r.messages()) {
            send(m);
        }
        if (r.mustPersist() || !r.messagesAfterPersist().isEmpty()) {
            n.diskQueue.addLast(new DiskWrite(r.termAndVote(), r.entriesToPersist(), r.messagesAfterPersist()));
            startSync(n);
            nemesis.maybeCrashBeforeSync(n, r);
        }
        for (Entry e : r.committedEntries()) {
            apply(n, e);
        }
        if (!r.committedEntries().isEmpty()) {
            core.onApplied(n.applied);
            answerReadsUpToApplied(n);
        }
        for (ReadState rs : r.readStates()) {
            ClientOp op = n.pendingReads.remove(rs.context());
            if (op != null) {
                op.readIndex = rs.readIndex();
                n.readsAwaitingApply.add(op);
            }
        }
        answerReadsUpToApplied(n);
        for (long context : r.failedReads()) {
            ClientOp op = n.pendingReads.remove(context);
            if (op != null) {
                clients.complete(op, Outcome.FAILED, null);
            }
        }
    }

    private void apply(SimNode n, Entry e) {
        if (e.index() != n.applied + 1) {
            throw new IllegalStateException(n.id + " applies " + e + " after " + n.applied);
        }
        n.applied = e.index();
        String result = e.type() == EntryType.COMMAND ? n.kv.apply(e.data()) : null;
        ClientOp op = n.pendingWrites.remove(e.index());
        if (op != null) {
            if (e.term() == op.term) {
                clients.complete(op, Outcome.OK, result);
            } else {
                clients.complete(op, Outcome.FAILED, null); // overwritten by another leader's entry: never committed
            }
        }
    }

    private void answerReadsUpToApplied(SimNode n) {
        if (n.readsAwaitingApply.isEmpty()) {
            return;
        }
        List<ClientOp> done = new ArrayList<>();
        for (ClientOp op : n.readsAwaitingApply) {
            if (op.readIndex <= n.applied) {
                done.add(op);
            }
        }
        n.readsAwaitingApply.removeAll(done);
        for (ClientOp op : done) {
            clients.complete(op, Outcome.OK, n.kv.get(op.key));
        }
    }

    private final Map<String, Long> sentByType = new java.util.TreeMap<>();

    /** How many messages of each type were sent, empty AppendEntries counted apart. */
    Map<String, Long> sentByType() {
        return sentByType;
    }

    private void send(RaftMessage m) {
        if (TRACE_NODE != null && (m.from().equals(TRACE_NODE) || m.to().equals(TRACE_NODE)) && ctx.now() > FAULT_PHASE) {
            System.out.println(ctx.now() + " send " + m);
        }
        sentByType.merge(m.getClass().getSimpleName() + (m instanceof org.raftkit.message.AppendEntries ae && ae.entries().isEmpty() ? "(empty)" : ""), 1L, Long::sum);
        if (net.isCut(m.from(), m.to())) {
            return;
        }
        for (long time : net.deliveryTimes(m.from(), m.to(), ctx.now())) {
            ctx.schedule(time, new Deliver(m));
        }
    }

    private static final String TRACE_NODE = System.getProperty("sim.trace");

    private void deliver(RaftMessage m) {
        SimNode n = nodes.get(m.to());
        if (TRACE_NODE != null && (m.from().equals(TRACE_NODE) || m.to().equals(TRACE_NODE)) && ctx.now() > FAULT_PHASE) {
            System.out.println(ctx.now() + " deliver " + m + (n.core == null ? " (down)" : n.paused ? " (paused)" : ""));
        }
        if (n.core == null || net.isCut(m.from(), m.to())) {
            return;
        }
        if (n.paused) {
            n.heldWhilePaused.add(m);
            return;
        }
        n.core.step(m);
        afterInput(n);
    }

    /**
     * Group commit, as the runtime's storage thread does it: one sync covers every write queued when
     * it starts; writes queued meanwhile wait for the next one.
     */
    private void startSync(SimNode n) {
        if (n.syncing > 0 || n.diskQueue.isEmpty()) {
            return;
        }
        n.syncing = n.diskQueue.size();
        long delay = (50 + random.nextLong(1_500)) * n.diskSlowFactor;
        ctx.schedule(ctx.now() + delay, new DiskDone(n, n.incarnation));
    }

    private void diskDone(SimNode n, int incarnation) {
        if (n.incarnation != incarnation || n.syncing == 0) {
            return; // the writes were lost in a crash
        }
        int count = n.syncing;
        n.syncing = 0;
        Entry last = null;
        for (int i = 0; i < count; i++) {
            DiskWrite w = n.diskQueue.pollFirst();
            writeToDisk(n, w);
            for (RaftMessage m : w.afterPersist) {
                send(m);
            }
            if (!w.entries.isEmpty()) {
                last = w.entries.get(w.entries.size() - 1);
            }
        }
        if (last != null) {
            n.core.onPersisted(last.index(), last.term());
        }
        afterInput(n);
        startSync(n);
    }

    void pause(SimNode n, long duration) {
        n.paused = true;
        ctx.schedule(ctx.now() + duration, new Resume(n, n.incarnation));
        ctx.note(n.id + " paused for " + duration / MILLIS + " ms");
    }

    void resume(SimNode n) {
        n.paused = false;
        List<RaftMessage> held = new ArrayList<>(n.heldWhilePaused);
        n.heldWhilePaused.clear();
        ctx.note(n.id + " resumed with " + held.size() + " messages held");
        for (RaftMessage m : held) {
            if (n.core != null && !n.paused) {
                n.core.step(m);
                afterInput(n);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    private final class Tick extends Event {
        private final SimNode n;

        Tick(SimNode n) {
            this.n = n;
        }

        @Override
        void run() {
            if (n.core != null && !n.paused) {
                n.core.tick();
                afterInput(n);
            }
            ctx.schedule(ctx.now() + n.tickMicros, this);
        }
    }

    private final class Deliver extends Event {
        private final RaftMessage m;

        Deliver(RaftMessage m) {
            this.m = m;
        }

        @Override
        void run() {
            deliver(m);
        }
    }

    private final class DiskDone extends Event {
        private final SimNode n;
        private final int incarnation;

        DiskDone(SimNode n, int incarnation) {
            this.n = n;
            this.incarnation = incarnation;
        }

        @Override
        void run() {
            diskDone(n, incarnation);
        }
    }

    private final class Resume extends Event {
        private final SimNode n;
        private final int incarnation;

        Resume(SimNode n, int incarnation) {
            this.n = n;
            this.incarnation = incarnation;
        }

        @Override
        void run() {
            if (n.paused && n.incarnation == incarnation) {
                resume(n);
            }
        }
    }
}
