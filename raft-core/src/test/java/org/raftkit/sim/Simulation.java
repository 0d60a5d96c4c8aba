package org.raftkit.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;

import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.core.RaftNode;
import org.raftkit.core.ReadState;
import org.raftkit.core.Ready;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
import org.raftkit.message.RaftMessage;
import org.raftkit.sim.lin.CheckResult;
import org.raftkit.sim.lin.LinearizabilityChecker;
import org.raftkit.sim.lin.OpKind;
import org.raftkit.sim.lin.Operation;
import org.raftkit.sim.lin.Outcome;
import org.raftkit.sim.lin.Verdict;
import org.raftkit.spi.TermVoteStore.TermAndVote;

/**
 * One seeded run of a whole Raft cluster in virtual time. The seed decides everything: cluster
 * size and config, every message delay, loss, duplicate and reordering, every partition, crash,
 * pause and slow disk, and every client operation. The same seed replays the same run.
 *
 * <p>Each node is a {@link RaftNode} driven exactly as {@link Ready}'s contract says: a leader's
 * messages leave at once; term, vote and entries go to a simulated disk that completes writes in
 * order after a delay; acknowledgements leave only when their write is done. A crash loses every
 * write not yet done (possibly keeping a prefix of them, as a real disk might), and a restart
 * rebuilds the node from what the disk holds.
 *
 * <p>After every step the {@link SafetyChecker} checks Figure 3's properties and each node its own
 * invariants. At the end the network heals and every node restarts; the run must then converge
 * (one leader, identical committed logs and state machines) and make progress, and the client
 * history must be linearizable.
 */
public final class Simulation {

    static final long TICK_MICROS = 10_000;
    static final long MILLIS = 1_000;
    static final long SECONDS = 1_000_000;

    /** How long clients work with faults on. */
    static final long FAULT_PHASE = 15 * SECONDS;
    /** How long clients go on after the final heal. */
    static final long HEALED_PHASE = 3 * SECONDS;
    /** How long the cluster may take to converge once clients stop. */
    static final long CONVERGENCE_DEADLINE = 30 * SECONDS;
    static final long CLIENT_TIMEOUT = 2 * SECONDS;

    private final long seed;
    private final SplittableRandom random;
    private final List<String> ids = new ArrayList<>();
    private final RaftConfig config;
    private final SimNetwork net;
    private final SafetyChecker safety = new SafetyChecker();
    private final Map<String, SimNode> nodes = new HashMap<>();
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private final ArrayDeque<String> trace = new ArrayDeque<>();
    private final List<Operation> history = new ArrayList<>();
    private final int clientCount;
    private final int keyCount;
    private long now;
    private long sequence;
    private long nextOpId;
    private boolean clientsStopped;
    private boolean faultsOver;
    private long okAfterHeal;
    /** Percent of promising Readies after which the nemesis crashes the node before its sync. */
    private final int aimedCrashPercent;
    private long nextAimedCrashAllowed;
    private long okOps;

    /** What a run produced. */
    public record Result(long seed, boolean passed, String failure, int nodes, long operations, long okOperations,
                         long committedIndex, String trace) {
    }

    public Simulation(long seed) {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
        int size = random.nextInt(4) == 0 ? 5 : 3;
        for (int i = 1; i <= size; i++) {
            ids.add("n" + i);
        }
        this.config = randomConfig();
        this.net = new SimNetwork(random.split(), ids);
        this.clientCount = 2 + random.nextInt(6);
        this.keyCount = 1 + random.nextInt(8);
        this.aimedCrashPercent = random.nextInt(3) == 0 ? 0 : 1 + random.nextInt(10);
    }

    private RaftConfig randomConfig() {
        RaftConfig c = RaftConfig.defaults();
        if (random.nextInt(5) == 0) {
            c = c.withPreVote(random.nextBoolean()).withCheckQuorum(random.nextBoolean());
        }
        if (random.nextInt(3) == 0) {
            c = c.withMaxAppend(1 + random.nextInt(8), 64 + random.nextInt(2048));
        }
        if (random.nextInt(3) == 0) {
            c = c.withMaxInflight(1 + random.nextInt(8), 256 + random.nextInt(8192));
        }
        if (random.nextInt(4) == 0) {
            c = c.withMaxApplyBatchBytes(1 + random.nextInt(512));
        }
        return c;
    }

    /** Runs the whole simulation; never throws for a protocol failure, it reports it. */
    public Result run() {
        String failure = null;
        try {
            start();
            runUntil(FAULT_PHASE);
            healEverything();
            runUntil(FAULT_PHASE + HEALED_PHASE);
            clientsStopped = true;
            awaitConvergence();
            checkHistory();
            if (okOps == 0) {
                throw new IllegalStateException("no client operation succeeded in the whole run");
            }
            if (okAfterHeal == 0) {
                throw new IllegalStateException("no client operation succeeded after the network healed");
            }
        } catch (RuntimeException | AssertionError e) {
            failure = e.getClass().getSimpleName() + ": " + e.getMessage();
            note("FAILURE " + failure);
        }
        long committed = 0;
        for (SimNode n : nodes.values()) {
            if (n.core != null) {
                committed = Math.max(committed, n.core.commitIndex());
            }
        }
        note("messages sent by type: " + sentByType);
        return new Result(seed, failure == null, failure, ids.size(), history.size(), okOps, committed,
                String.join("\n", trace));
    }

    // ---------------------------------------------------------------------------------------------
    // Setup and phases
    // ---------------------------------------------------------------------------------------------

    private void start() {
        note("cluster " + ids + " " + config + " clients=" + clientCount + " keys=" + keyCount);
        for (String id : ids) {
            SimNode n = new SimNode(id);
            nodes.put(id, n);
            n.tickMicros = TICK_MICROS - 500 + random.nextLong(1_000);
            restart(n);
            schedule(random.nextLong(TICK_MICROS), new Tick(n));
        }
        for (int c = 0; c < clientCount; c++) {
            schedule(random.nextLong(50 * MILLIS), new ClientStart(c));
        }
        schedule(200 * MILLIS + random.nextLong(SECONDS), new Nemesis());
    }

    private void healEverything() {
        faultsOver = true;
        net.heal();
        net.calm();
        for (SimNode n : nodes.values()) {
            n.diskSlowFactor = 1;
            if (n.core == null) {
                restart(n);
            }
            if (n.paused) {
                resume(n);
            }
        }
        note("healed: network whole, every node up");
    }

    private void runUntil(long time) {
        while (!events.isEmpty() && events.peek().time <= time) {
            Event e = events.poll();
            now = e.time;
            e.run();
        }
        now = time;
    }

    private void awaitConvergence() {
        long deadline = now + CONVERGENCE_DEADLINE;
        while (now < deadline) {
            runUntil(now + 100 * MILLIS);
            String why = notConvergedBecause();
            if (why == null) {
                return;
            }
        }
        throw new IllegalStateException("did not converge within " + CONVERGENCE_DEADLINE / SECONDS
                + " s after healing: " + notConvergedBecause());
    }

    /** Null when converged: one leader everyone follows, identical logs, all committed and applied. */
    private String notConvergedBecause() {
        SimNode leader = null;
        for (SimNode n : nodes.values()) {
            if (n.core.role() == Role.LEADER) {
                if (leader != null && leader.core.currentTerm() == n.core.currentTerm()) {
                    return "two leaders";
                }
                if (leader == null || n.core.currentTerm() > leader.core.currentTerm()) {
                    leader = n;
                }
            }
        }
        if (leader == null) {
            return "no leader";
        }
        long last = leader.core.lastIndex();
        for (SimNode n : nodes.values()) {
            RaftNode c = n.core;
            if (!leader.id.equals(c.leaderId()) || c.currentTerm() != leader.core.currentTerm()) {
                return n.id + " follows " + c.leaderId() + " at term " + c.currentTerm();
            }
            if (c.lastIndex() != last || c.commitIndex() != last || n.applied != last) {
                return n.id + " at last=" + c.lastIndex() + " commit=" + c.commitIndex() + " applied=" + n.applied
                        + ", leader " + leader.core.describe();
            }
            if (!n.pendingWrites.isEmpty() || !n.pendingReads.isEmpty()) {
                return n.id + " has client operations pending";
            }
        }
        for (SimNode n : nodes.values()) {
            if (!n.core.entries(1, last + 1).equals(leader.core.entries(1, last + 1))) {
                throw new IllegalStateException("logs of " + n.id + " and " + leader.id + " differ though both committed "
                        + last);
            }
        }
        return null;
    }

    private void checkHistory() {
        CheckResult result = new LinearizabilityChecker().check(history);
        if (result.verdict() == Verdict.NOT_LINEARIZABLE) {
            throw new IllegalStateException("history not linearizable: key " + result.key() + ": " + result.explanation());
        }
        if (result.verdict() == Verdict.UNDECIDED) {
            note("linearizability undecided within the search budget: " + result.explanation());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Nodes: driving the core by the Ready contract
    // ---------------------------------------------------------------------------------------------

    /** One Ready's worth of persistence, done when the sync that covers it completes. */
    private record DiskWrite(TermAndVote termAndVote, List<Entry> entries, List<RaftMessage> afterPersist) {
    }

    final class SimNode {
        final String id;
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

    private void restart(SimNode n) {
        n.incarnation++;
        n.core = new RaftNode(n.id, ids, config, n.disk, n.durableTermAndVote, random.split());
        n.kv = new SimKv();
        n.applied = n.core.appliedIndex();
        n.lastCommit = n.core.commitIndex();
        n.paused = false;
        n.heldWhilePaused.clear();
        note(n.id + " started (incarnation " + n.incarnation + ", term " + n.durableTermAndVote.currentTerm()
                + ", last index " + n.disk.lastIndex() + ")");
        afterInput(n);
    }

    private void crash(SimNode n) {
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
            complete(op, Outcome.UNKNOWN, null);
        }
        for (ClientOp op : new ArrayList<>(n.pendingReads.values())) {
            complete(op, Outcome.UNKNOWN, null);
        }
        n.pendingWrites.clear();
        n.pendingReads.clear();
        n.readsAwaitingApply.clear();
        note(n.id + " crashed (kept " + keep + " of " + pending.size() + " unfinished disk writes)");
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
    private void afterInput(SimNode n) {
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
        if (r.softState() != null) {
            Ready.SoftState s = r.softState();
            if (s.role() == Role.LEADER) {
                safety.onLeader(n.id, s.term());
                safety.checkLeaderCompleteness(n.id, s.term(), core::termAt);
            }
            note(n.id + " is " + s.role() + " at term " + s.term() + (s.leaderId() == null ? "" : " leader " + s.leaderId()));
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
            maybeCrashBeforeSync(n, r);
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
                complete(op, Outcome.FAILED, null);
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
                complete(op, Outcome.OK, result);
            } else {
                complete(op, Outcome.FAILED, null); // overwritten by another leader's entry: never committed
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
            complete(op, Outcome.OK, n.kv.get(op.key));
        }
    }

    private final Map<String, Long> sentByType = new java.util.TreeMap<>();

    private void send(RaftMessage m) {
        if (TRACE_NODE != null && (m.from().equals(TRACE_NODE) || m.to().equals(TRACE_NODE)) && now > FAULT_PHASE) {
            System.out.println(now + " send " + m);
        }
        sentByType.merge(m.getClass().getSimpleName() + (m instanceof org.raftkit.message.AppendEntries ae && ae.entries().isEmpty() ? "(empty)" : ""), 1L, Long::sum);
        if (net.isCut(m.from(), m.to())) {
            return;
        }
        for (long time : net.deliveryTimes(m.from(), m.to(), now)) {
            schedule(time, new Deliver(m));
        }
    }

    private static final String TRACE_NODE = System.getProperty("sim.trace");

    private void deliver(RaftMessage m) {
        SimNode n = nodes.get(m.to());
        if (TRACE_NODE != null && (m.from().equals(TRACE_NODE) || m.to().equals(TRACE_NODE)) && now > FAULT_PHASE) {
            System.out.println(now + " deliver " + m + (n.core == null ? " (down)" : n.paused ? " (paused)" : ""));
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
     * The worst moment to crash: right after a Ready that promises something (a vote, a new term,
     * an acknowledgement) and before the sync that makes it durable. Random crashes almost never
     * land in that window, so the nemesis aims for it, and restarts the node soon enough for it to
     * take part in the same election or catch-up again. A driver that sent a promise before it
     * was durable fails here.
     */
    private void maybeCrashBeforeSync(SimNode n, Ready r) {
        if (faultsOver || now < nextAimedCrashAllowed || random.nextInt(100) >= aimedCrashPercent) {
            return;
        }
        boolean promises = r.termAndVote() != null || !r.messagesAfterPersist().isEmpty();
        if (!promises) {
            return;
        }
        nextAimedCrashAllowed = now + 200 * MILLIS;
        SimNode victim = n;
        schedule(now + 1, new Event() {
            @Override
            void run() {
                if (victim.core != null && victim.syncing + victim.diskQueue.size() > 0) {
                    note(victim.id + " crashes before its sync (aimed)");
                    crash(victim);
                    // Half the time back almost at once, so requests still in flight to it (a
                    // rival candidate's RequestVote, a retried AppendEntries) reach the new
                    // incarnation, as messages delayed in a network do.
                    long down = random.nextBoolean() ? 100 + random.nextLong(3 * MILLIS)
                            : 5 * MILLIS + random.nextLong(300 * MILLIS);
                    schedule(now + down, new Restart(victim, victim.incarnation));
                }
            }
        });
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
        schedule(now + delay, new DiskDone(n, n.incarnation));
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

    private void pause(SimNode n, long duration) {
        n.paused = true;
        schedule(now + duration, new Resume(n, n.incarnation));
        note(n.id + " paused for " + duration / MILLIS + " ms");
    }

    private void resume(SimNode n) {
        n.paused = false;
        List<RaftMessage> held = new ArrayList<>(n.heldWhilePaused);
        n.heldWhilePaused.clear();
        note(n.id + " resumed with " + held.size() + " messages held");
        for (RaftMessage m : held) {
            if (n.core != null && !n.paused) {
                n.core.step(m);
                afterInput(n);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Clients
    // ---------------------------------------------------------------------------------------------

    final class ClientOp {
        final int client;
        final long id;
        final OpKind kind;
        final String key;
        final String value;
        final String expected;
        final long invokeTime;
        long term;
        long readIndex;
        boolean done;

        ClientOp(int client, OpKind kind, String key, String value, String expected) {
            this.client = client;
            this.id = nextOpId++;
            this.kind = kind;
            this.key = key;
            this.value = value;
            this.expected = expected;
            this.invokeTime = now;
        }
    }

    private final Map<Integer, String> preferredNode = new HashMap<>();

    private void startClientOp(int client) {
        if (clientsStopped) {
            return;
        }
        String key = "k" + random.nextInt(keyCount);
        int dice = random.nextInt(10);
        ClientOp op;
        if (dice < 4) {
            op = new ClientOp(client, OpKind.WRITE, key, "v" + nextOpId, null);
        } else if (dice < 7) {
            op = new ClientOp(client, OpKind.READ, key, null, null);
        } else {
            String expected = random.nextInt(3) == 0 ? null : "v" + random.nextLong(Math.max(1, nextOpId));
            op = new ClientOp(client, OpKind.CAS, key, "v" + nextOpId, expected);
        }
        String target = preferredNode.get(client);
        if (target == null || (op.kind == OpKind.READ && random.nextInt(3) == 0)) {
            target = ids.get(random.nextInt(ids.size()));
        }
        SimNode n = nodes.get(target);
        if (n.core == null || n.paused) {
            preferredNode.remove(client);
            complete(op, Outcome.FAILED, null); // connection refused: the request never arrived
            return;
        }
        schedule(now + CLIENT_TIMEOUT, new ClientTimeout(op, n));
        if (op.kind == OpKind.READ) {
            if (n.core.readIndex(op.id) != RaftNode.ReadAccepted.ACCEPTED) {
                redirect(client, n);
                complete(op, Outcome.FAILED, null);
                return;
            }
            n.pendingReads.put(op.id, op);
        } else {
            byte[] command = op.kind == OpKind.WRITE ? SimKv.write(key, op.value)
                    : SimKv.compareAndSet(key, op.expected, op.value);
            long index = n.core.propose(command);
            if (index == RaftNode.NOT_LEADER) {
                redirect(client, n);
                complete(op, Outcome.FAILED, null);
                return;
            }
            op.term = n.core.currentTerm();
            n.pendingWrites.put(index, op);
        }
        afterInput(n);
    }

    private void redirect(int client, SimNode n) {
        String leader = n.core.leaderId();
        if (leader != null) {
            preferredNode.put(client, leader);
        } else {
            preferredNode.remove(client);
        }
    }

    private void complete(ClientOp op, Outcome outcome, String result) {
        if (op.done) {
            return;
        }
        op.done = true;
        Operation recorded;
        long end = outcome == Outcome.UNKNOWN ? Operation.NEVER : now;
        switch (op.kind) {
            case READ:
                recorded = new Operation(op.client, op.id, OpKind.READ, op.key, null, null, result, false, op.invokeTime,
                        end, outcome);
                break;
            case WRITE:
                recorded = new Operation(op.client, op.id, OpKind.WRITE, op.key, op.value, null, null, false,
                        op.invokeTime, end, outcome);
                break;
            default:
                recorded = new Operation(op.client, op.id, OpKind.CAS, op.key, op.value, op.expected, null,
                        "true".equals(result), op.invokeTime, end, outcome);
        }
        history.add(recorded);
        if (outcome == Outcome.OK) {
            okOps++;
            if (faultsOver) {
                okAfterHeal++;
            }
        }
        // A refused client backs off before trying again, as a real one would.
        long pause = outcome == Outcome.OK ? random.nextLong(3 * MILLIS) : 10 * MILLIS + random.nextLong(50 * MILLIS);
        schedule(now + pause, new ClientStart(op.client));
    }

    // ---------------------------------------------------------------------------------------------
    // Nemesis: the faults
    // ---------------------------------------------------------------------------------------------

    private void nemesis() {
        if (faultsOver) {
            return;
        }
        int dice = random.nextInt(100);
        List<SimNode> up = new ArrayList<>();
        for (String id : ids) {
            if (nodes.get(id).core != null) {
                up.add(nodes.get(id));
            }
        }
        if (dice < 20) {
            net.heal();
            if (random.nextBoolean()) {
                net.calm();
            }
            note("network healed");
        } else if (dice < 32) {
            String victim = ids.get(random.nextInt(ids.size()));
            net.isolate(victim);
            note("isolated " + victim);
        } else if (dice < 42) {
            for (SimNode n : up) {
                if (n.core.role() == Role.LEADER) {
                    net.isolate(n.id);
                    note("isolated leader " + n.id);
                    break;
                }
            }
        } else if (dice < 52) {
            Set<String> side = new HashSet<>();
            for (String id : ids) {
                if (random.nextBoolean()) {
                    side.add(id);
                }
            }
            net.partition(side);
            note("partitioned " + side + " from the rest");
        } else if (dice < 57) {
            String a = ids.get(random.nextInt(ids.size()));
            String b = ids.get(random.nextInt(ids.size()));
            if (!a.equals(b)) {
                net.cutOneWay(a, b);
                note("cut " + a + " -> " + b + " one way");
            }
        } else if (dice < 62) {
            // A bridge: two groups that reach each other only through one node.
            String bridge = ids.get(random.nextInt(ids.size()));
            Set<String> side = new HashSet<>();
            for (String id : ids) {
                if (!id.equals(bridge) && random.nextBoolean()) {
                    side.add(id);
                }
            }
            for (String a : ids) {
                for (String b : ids) {
                    if (!a.equals(bridge) && !b.equals(bridge) && side.contains(a) != side.contains(b)) {
                        net.cutOneWay(a, b);
                    }
                }
            }
            note("bridge through " + bridge + " between " + side + " and the rest");
        } else if (dice < 72) {
            net.storm();
            note("storm: loss " + net.lossRate + " duplicates " + net.duplicateRate + " jitter " + net.jitterMicros
                    + " us" + (net.reorder ? ", reordering" : ""));
        } else if (dice < 84) {
            if (!up.isEmpty()) {
                SimNode victim = up.get(random.nextInt(up.size()));
                crash(victim);
                schedule(now + 100 * MILLIS + random.nextLong(3 * SECONDS), new Restart(victim, victim.incarnation));
            }
        } else if (dice < 92) {
            if (!up.isEmpty()) {
                SimNode victim = up.get(random.nextInt(up.size()));
                if (!victim.paused) {
                    pause(victim, 20 * MILLIS + random.nextLong(1_500 * MILLIS));
                }
            }
        } else {
            SimNode victim = nodes.get(ids.get(random.nextInt(ids.size())));
            victim.diskSlowFactor = victim.diskSlowFactor == 1 ? 20 + random.nextLong(100) : 1;
            note(victim.id + " disk slowed by " + victim.diskSlowFactor + "x");
        }
        schedule(now + 100 * MILLIS + random.nextLong(2 * SECONDS), new Nemesis());
    }

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    private void schedule(long time, Event e) {
        e.time = time;
        e.sequence = sequence++;
        events.add(e);
    }

    private void note(String line) {
        trace.addLast(String.format("%9.3f ms  %s", now / 1000.0, line));
        if (trace.size() > 120) {
            trace.removeFirst();
        }
    }

    private abstract static class Event implements Comparable<Event> {
        long time;
        long sequence;

        abstract void run();

        @Override
        public int compareTo(Event o) {
            int c = Long.compare(time, o.time);
            return c != 0 ? c : Long.compare(sequence, o.sequence);
        }
    }

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
            schedule(now + n.tickMicros, this);
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

    private final class Restart extends Event {
        private final SimNode n;
        private final int incarnation;

        Restart(SimNode n, int incarnation) {
            this.n = n;
            this.incarnation = incarnation;
        }

        @Override
        void run() {
            if (n.core == null && n.incarnation == incarnation) {
                restart(n);
            }
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

    private final class ClientStart extends Event {
        private final int client;

        ClientStart(int client) {
            this.client = client;
        }

        @Override
        void run() {
            startClientOp(client);
        }
    }

    private final class ClientTimeout extends Event {
        private final ClientOp op;
        private final SimNode n;

        ClientTimeout(ClientOp op, SimNode n) {
            this.op = op;
            this.n = n;
        }

        @Override
        void run() {
            if (!op.done) {
                n.pendingWrites.values().remove(op);
                n.pendingReads.values().remove(op);
                n.readsAwaitingApply.remove(op);
                complete(op, Outcome.UNKNOWN, null);
            }
        }
    }

    private final class Nemesis extends Event {
        @Override
        void run() {
            nemesis();
        }
    }
}
