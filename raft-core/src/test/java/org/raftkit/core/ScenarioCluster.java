package org.raftkit.core;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
import org.raftkit.message.RaftMessage;
import org.raftkit.message.RequestVote;
import org.raftkit.message.RequestVoteReply;
import org.raftkit.spi.TermVoteStore.TermAndVote;

/**
 * A tiny deterministic cluster of {@link RaftNode}s for paper scenarios. Nothing happens unless
 * the test says so: time passes only through {@link #tick}, {@link #tickAll} and
 * {@link #runTicks}; messages sit in one FIFO {@link ScenarioNetwork} until {@link #deliverAll},
 * {@link #deliverOnly} or {@link #deliverNext} hands them over.
 *
 * <p>It is the driver of {@link Ready}'s contract, kept to the letter after every input: send
 * {@code messages()} at once; persist {@code termAndVote()} then {@code entriesToPersist()}
 * (truncating the stored suffix first) into the node's own {@link MemoryLogStorage}; only then
 * send {@code messagesAfterPersist()} and report {@link RaftNode#onPersisted}; apply
 * {@code committedEntries()} and report {@link RaftNode#onApplied}; record read states and failed
 * reads. {@link #holdPersistence} stalls a node's disk so a test can watch what waits for it; a
 * {@link #crash} loses whatever was not yet persisted, as a real crash loses unsynced writes.
 *
 * <p>After every input it checks the node's own invariants ({@link RaftNode#checkInvariants}) and
 * two cluster-wide properties of Figure 3: Election Safety (at most one leader per term) and State
 * Machine Safety (no two nodes ever apply different entries at one index). A violation throws
 * {@link AssertionError} at the step that caused it.
 */
final class ScenarioCluster {

    /** Guards {@link #deliverAll} against a message storm that never settles. */
    private static final int MAX_DELIVERIES = 1_000_000;

    private final RaftConfig config;
    private final List<String> ids;
    private final Map<String, Slot> slots = new LinkedHashMap<>();

    private final ScenarioNetwork network = new ScenarioNetwork();

    /** Election Safety (Figure 3): the one leader seen in each term. */
    private final Map<Long, String> leaderOfTerm = new HashMap<>();
    /** State Machine Safety (Figure 3): the entry applied at each index, by anyone. */
    private final Map<Long, Entry> appliedAtIndex = new HashMap<>();
    /** Nodes that start with no configuration. */
    private final java.util.Set<String> joining;
    /** The initial configuration of the others. */
    private final Configuration initial;

    private ScenarioCluster(Builder b) {
        this.config = b.config;
        this.ids = List.copyOf(b.ids);
        this.joining = java.util.Set.copyOf(b.joining);
        this.initial = Configuration.ofVoters(ids.stream().filter(id -> !joining.contains(id)).toList());
        long i = 0;
        for (String id : ids) {
            MemoryLogStorage storage = new MemoryLogStorage();
            long[] terms = b.logs.getOrDefault(id, new long[0]);
            List<Entry> entries = new ArrayList<>();
            for (int k = 0; k < terms.length; k++) {
                entries.add(presetEntry(k + 1, terms[k]));
            }
            storage.append(entries);
            long lastTerm = terms.length == 0 ? 0 : terms[terms.length - 1];
            long term = b.terms.getOrDefault(id, lastTerm);
            if (term < lastTerm) {
                throw new IllegalArgumentException(id + ": saved term " + term + " below its last log term " + lastTerm);
            }
            Slot s = new Slot(id, storage, new TermAndVote(term, b.votes.get(id)),
                    new SplittableRandom(b.seed * 1_000_003L + i++));
            slots.put(id, s);
        }
        for (Slot s : slots.values()) {
            start(s);
        }
    }

    /** A cluster of fresh nodes with {@link RaftConfig#defaults()} and seed 1. */
    static ScenarioCluster of(String... ids) {
        return builder(ids).build();
    }

    static Builder builder(String... ids) {
        return new Builder(List.of(ids));
    }

    /** How to build a cluster: its members, config, seed and any pre-set logs and terms. */
    static final class Builder {
        private final List<String> ids;
        private RaftConfig config = RaftConfig.defaults();
        private long seed = 1;
        private final Map<String, long[]> logs = new HashMap<>();
        private final Map<String, Long> terms = new HashMap<>();
        private final Map<String, String> votes = new HashMap<>();
        private final java.util.Set<String> joining = new java.util.HashSet<>();

        private Builder(List<String> ids) {
            this.ids = ids;
        }

        Builder config(RaftConfig c) {
            this.config = c;
            return this;
        }

        Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /**
         * Gives a node a durable log before it starts: one entry per term given, from index 1. The
         * entry at (index, term) has the same content on every node, as Log Matching requires.
         */
        Builder log(String id, long... entryTerms) {
            logs.put(id, entryTerms.clone());
            return this;
        }

        /** The node's saved currentTerm (defaults to its last log term). */
        Builder term(String id, long currentTerm) {
            terms.put(id, currentTerm);
            return this;
        }

        /** The node's saved votedFor. */
        Builder votedFor(String id, String candidate) {
            votes.put(id, candidate);
            return this;
        }

        /**
         * These nodes start with no configuration (thesis §4.1: a new server waits to be added);
         * the others start with the rest as voters.
         */
        Builder joining(String... joiningIds) {
            joining.addAll(List.of(joiningIds));
            return this;
        }

        ScenarioCluster build() {
            return new ScenarioCluster(this);
        }
    }

    /** The content of a pre-set entry: a function of (index, term) only. */
    static Entry presetEntry(long index, long term) {
        return Entry.command(index, term, ("preset " + index + "@" + term).getBytes(StandardCharsets.UTF_8));
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------------------------------------
    // Per-node state kept by the driver
    // ---------------------------------------------------------------------------------------------

    /** One member: its disk (storage, saved term and vote) survives a crash; the rest does not. */
    private final class Slot {
        final String id;
        final MemoryLogStorage storage;
        TermAndVote saved;
        final SplittableRandom random;
        RaftNode node;

        /** Ready parts waiting for the disk, in order (only while persistence is held). */
        final ArrayDeque<PendingPersist> pendingPersist = new ArrayDeque<>();
        boolean persistenceHeld;

        /** The state machine: entries applied since the last (re)start. */
        List<Entry> applied = new ArrayList<>();
        /** Everything this node ever applied, across restarts. */
        final List<Entry> everApplied = new ArrayList<>();
        final List<ReadState> readStates = new ArrayList<>();
        final List<Long> failedReads = new ArrayList<>();
        /** Membership news from every Ready, in order. */
        final List<Ready.MembershipNews> membershipNews = new ArrayList<>();

        Slot(String id, MemoryLogStorage storage, TermAndVote saved, SplittableRandom random) {
            this.id = id;
            this.storage = storage;
            this.saved = saved;
            this.random = random;
        }

        long appliedIndex() {
            return applied.isEmpty() ? 0 : applied.get(applied.size() - 1).index();
        }
    }

    /** The part of a Ready that waits for the disk: what to save, and what may leave once it is saved. */
    private record PendingPersist(TermAndVote termAndVote, List<Entry> entries, List<RaftMessage> messagesAfterPersist) {
    }

    private void start(Slot s) {
        s.node = new RaftNode(s.id, joining.contains(s.id) ? Configuration.EMPTY : initial, config, s.storage, s.saved,
                s.random, 0, 0);
        s.applied = new ArrayList<>();
        process(s);
    }

    // ---------------------------------------------------------------------------------------------
    // The driver: Ready handling in the order its Javadoc gives
    // ---------------------------------------------------------------------------------------------

    /** Drains every Ready the node has, checking invariants after each. */
    private void process(Slot s) {
        checkNode(s);
        for (int guard = 0; ; guard++) {
            if (guard > 10_000) {
                throw new AssertionError(s.id + ": ready() never settles");
            }
            Ready r = s.node.ready();
            if (r.isEmpty()) {
                return;
            }
            handle(s, r);
            checkNode(s);
        }
    }

    private void handle(Slot s, Ready r) {
        // 1. A leader's messages leave at once.
        network.send(r.messages());
        // 2 and 3. Persist, then send what depended on it, then report it durable.
        if (r.mustPersist() || !r.messagesAfterPersist().isEmpty()) {
            s.pendingPersist.addLast(new PendingPersist(r.termAndVote(), r.entriesToPersist(), r.messagesAfterPersist()));
            if (!s.persistenceHeld) {
                persistPending(s);
            }
        }
        // 4. Apply. Committed entries are on a majority, so this need not wait for our own disk.
        if (!r.committedEntries().isEmpty()) {
            for (Entry e : r.committedEntries()) {
                apply(s, e);
            }
            s.node.onApplied(s.appliedIndex());
            checkNode(s);
        }
        // 5. Reads.
        s.readStates.addAll(r.readStates());
        s.failedReads.addAll(r.failedReads());
        if (r.membership() != null) {
            s.membershipNews.add(r.membership());
        }
    }

    /** Every membership news the node's Readies carried, in order. */
    List<Ready.MembershipNews> membershipNews(String id) {
        return slots.get(id).membershipNews;
    }

    private void persistPending(Slot s) {
        while (!s.pendingPersist.isEmpty()) {
            PendingPersist p = s.pendingPersist.pollFirst();
            if (p.termAndVote() != null) {
                if (p.termAndVote().currentTerm() < s.saved.currentTerm()) {
                    throw new AssertionError(s.id + ": saved term would go back from " + s.saved + " to " + p.termAndVote());
                }
                s.saved = p.termAndVote();
            }
            if (!p.entries().isEmpty()) {
                s.storage.truncateSuffix(p.entries().get(0).index());
                s.storage.append(p.entries());
            }
            network.send(p.messagesAfterPersist());
            if (!p.entries().isEmpty()) {
                Entry last = p.entries().get(p.entries().size() - 1);
                s.node.onPersisted(last.index(), last.term());
                checkNode(s);
            }
        }
    }

    private void apply(Slot s, Entry e) {
        if (e.index() != s.appliedIndex() + 1) {
            throw new AssertionError(s.id + " applied " + e + " after index " + s.appliedIndex());
        }
        Entry before = appliedAtIndex.putIfAbsent(e.index(), e);
        if (before != null && !before.equals(e)) {
            throw new AssertionError("State Machine Safety broken: " + s.id + " applied " + e + " where "
                    + before + " was applied before");
        }
        s.applied.add(e);
        s.everApplied.add(e);
    }

    private void checkNode(Slot s) {
        s.node.checkInvariants();
        if (s.node.role() == Role.LEADER) {
            String before = leaderOfTerm.putIfAbsent(s.node.currentTerm(), s.id);
            if (before != null && !before.equals(s.id)) {
                throw new AssertionError("Election Safety broken: " + before + " and " + s.id
                        + " both led term " + s.node.currentTerm());
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Network
    // ---------------------------------------------------------------------------------------------

    /**
     * Delivers the oldest queued message that matches {@code which} and is not held.
     *
     * @return whether there was one
     */
    boolean deliverNext(Predicate<RaftMessage> which) {
        RaftMessage m = network.take(which);
        if (m == null) {
            return false;
        }
        deliver(m);
        return true;
    }

    private void deliver(RaftMessage m) {
        Slot to = slots.get(m.to());
        if (to == null || to.node == null || network.isLost(m)) {
            network.recordDropped(m);
            return;
        }
        network.recordDelivered(m);
        to.node.step(m);
        process(to);
    }

    /** Delivers messages, and the messages they cause, until nothing deliverable is left. Returns how many. */
    int deliverAll() {
        return deliverWhile(m -> true);
    }

    /** Delivers messages matching {@code which} (including ones caused on the way) until none is left. */
    int deliverWhile(Predicate<RaftMessage> which) {
        int n = 0;
        while (deliverNext(which)) {
            if (++n > MAX_DELIVERIES) {
                throw new AssertionError("the network never settles");
            }
        }
        return n;
    }

    /**
     * Delivers messages (and the ones they cause) until none is left or {@code max} were delivered,
     * so a test can measure a message storm instead of failing in {@link #deliverAll}'s guard.
     *
     * @return how many were delivered
     */
    int deliverAtMost(int max) {
        int n = 0;
        while (n < max && deliverNext(m -> true)) {
            n++;
        }
        return n;
    }

    /** Delivers only the messages from {@code from} to {@code to}, including ones sent on the way. */
    int deliverOnly(String from, String to) {
        return deliverWhile(m -> m.from().equals(from) && m.to().equals(to));
    }

    /** Hands a message straight to its receiver, as if it had just arrived. */
    void inject(RaftMessage m) {
        deliver(m);
    }

    /** Loses every queued message from {@code from} to {@code to}. */
    void drop(String from, String to) {
        network.dropQueuedIf(m -> m.from().equals(from) && m.to().equals(to));
    }

    /** Loses every queued message matching {@code which}. */
    void dropQueuedIf(Predicate<RaftMessage> which) {
        network.dropQueuedIf(which);
    }

    /** Cuts every link between {@code id} and the others, losing what is on them. */
    void isolate(String id) {
        List<String> others = new ArrayList<>(ids);
        others.remove(id);
        network.partition(List.of(id), others);
    }

    /** Cuts every link between the two sides, losing what is on them. */
    void partition(Collection<String> side, Collection<String> otherSide) {
        network.partition(side, otherSide);
    }

    /** Restores every link, lifts loss filters and releases held messages. */
    void heal() {
        network.heal();
    }

    /** From now on, messages matching {@code which} are lost (queued ones too). */
    void loseIf(Predicate<RaftMessage> which) {
        network.loseIf(which);
    }

    /** From now on, messages matching {@code which} wait in the network until {@link #release()}. */
    void hold(Predicate<RaftMessage> which) {
        network.hold(which);
    }

    /** Lets held messages go (they are delivered by the next delivery call). */
    void release() {
        network.release();
    }

    /** Messages queued and not yet delivered, oldest first. */
    List<RaftMessage> inFlight() {
        return network.inFlight();
    }

    /** Every message delivered so far, in order. */
    List<RaftMessage> delivered() {
        return network.delivered();
    }

    /** Every message sent so far, delivered or not. */
    List<RaftMessage> sent() {
        return network.sent();
    }

    /** Every message the network lost so far. */
    List<RaftMessage> dropped() {
        return network.dropped();
    }

    // ---------------------------------------------------------------------------------------------
    // Time
    // ---------------------------------------------------------------------------------------------

    /** Ticks one node {@code n} times, without delivering anything. */
    void tick(String id, int n) {
        Slot s = live(id);
        for (int i = 0; i < n; i++) {
            s.node.tick();
            process(s);
        }
    }

    /** Ticks every running node {@code n} times, without delivering anything. */
    void tickAll(int n) {
        for (int i = 0; i < n; i++) {
            for (Slot s : slots.values()) {
                if (s.node != null) {
                    s.node.tick();
                    process(s);
                }
            }
        }
    }

    /** Lets {@code n} ticks pass on every running node, delivering everything after each. */
    void runTicks(int n) {
        for (int i = 0; i < n; i++) {
            tickAll(1);
            deliverAll();
        }
    }

    /**
     * Lets {@code n} ticks pass on the given nodes only, delivering everything after each; the
     * others are frozen (a paused process: its clock does not move).
     */
    void runTicksOn(Collection<String> which, int n) {
        for (int i = 0; i < n; i++) {
            for (String id : which) {
                if (isRunning(id)) {
                    tick(id, 1);
                }
            }
            deliverAll();
        }
    }

    /**
     * Runs ticks (delivering after each) until {@code done} holds, for at most {@code maxTicks}.
     *
     * @return the number of ticks it took, or -1 if it never held
     */
    int runUntil(int maxTicks, BooleanSupplier done) {
        for (int i = 0; i <= maxTicks; i++) {
            if (done.getAsBoolean()) {
                return i;
            }
            if (i < maxTicks) {
                runTicks(1);
            }
        }
        return -1;
    }

    /** Like {@link #runUntil}, but only the given nodes' clocks move. */
    int runUntilOn(Collection<String> which, int maxTicks, BooleanSupplier done) {
        for (int i = 0; i <= maxTicks; i++) {
            if (done.getAsBoolean()) {
                return i;
            }
            if (i < maxTicks) {
                runTicksOn(which, 1);
            }
        }
        return -1;
    }

    /**
     * Ticks {@code id} alone until it asks for votes (a PreVote or a RequestVote), or becomes leader
     * on its own (a single-node cluster). Delivers nothing.
     */
    void tickUntilCampaign(String id) {
        Slot s = live(id);
        long before = voteRequestsSentBy(id);
        int limit = 2 * config.electionTimeoutMaxTicks();
        for (int i = 0; i < limit && voteRequestsSentBy(id) == before && s.node.role() != Role.LEADER; i++) {
            tick(id, 1);
        }
        if (voteRequestsSentBy(id) == before && s.node.role() != Role.LEADER) {
            throw new AssertionError(id + " did not campaign within " + limit + " ticks: " + s.node);
        }
    }

    private long voteRequestsSentBy(String id) {
        return network.sent().stream().filter(m -> m instanceof RequestVote && m.from().equals(id)).count();
    }

    /**
     * Makes {@code id} leader: ticks it alone until it campaigns, then delivers everything; again,
     * for a few campaigns, if it lost or was not answered. Works when a majority will vote for it
     * (no live leader they follow, a log at least as up to date).
     */
    String electLeader(String id) {
        Slot s = live(id);
        for (int campaign = 0; campaign < 10 && s.node.role() != Role.LEADER; campaign++) {
            tickUntilCampaign(id);
            deliverAll();
        }
        if (s.node.role() != Role.LEADER) {
            throw new AssertionError(id + " did not become leader: " + this);
        }
        return id;
    }

    /** Vote traffic of either kind (PreVote or RequestVote, and the replies). */
    static boolean isVoteTraffic(RaftMessage m) {
        return m instanceof RequestVote || m instanceof RequestVoteReply;
    }

    // ---------------------------------------------------------------------------------------------
    // Clients, disks, crashes
    // ---------------------------------------------------------------------------------------------

    /** Proposes a command on {@code id}; returns its index or {@link RaftNode#NOT_LEADER}. */
    long propose(String id, String command) {
        return propose(id, bytes(command));
    }

    long propose(String id, byte[] command) {
        Slot s = live(id);
        long index = s.node.propose(command);
        process(s);
        return index;
    }

    /** Proposes several commands as one input batch: the node's Ready is taken once, after all of them. */
    List<Long> proposeTogether(String id, String... commands) {
        Slot s = live(id);
        List<Long> indexes = new ArrayList<>();
        for (String c : commands) {
            indexes.add(s.node.propose(bytes(c)));
            s.node.checkInvariants();
        }
        process(s);
        return indexes;
    }

    /** Asks {@code id} to change the configuration to {@code members} (thesis §4.3), as one input. */
    Membership.ChangeResult changeConfiguration(String id, long expectedIndex, List<Configuration.Member> members) {
        Slot s = live(id);
        Membership.ChangeResult r = s.node.proposeConfigurationChange(expectedIndex, members);
        process(s);
        return r;
    }

    /** Asks {@code id} to hand leadership to {@code target} (thesis §3.10), as one input. */
    LeadershipTransfer.TransferRequest transferLeadership(String id, String target) {
        Slot s = live(id);
        LeadershipTransfer.TransferRequest r = s.node.transferLeadership(target);
        process(s);
        return r;
    }

    /** Starts a linearizable read on {@code id}. */
    RaftNode.ReadAccepted readIndex(String id, long context) {
        Slot s = live(id);
        RaftNode.ReadAccepted result = s.node.readIndex(context);
        process(s);
        return result;
    }

    /** Starts a lease-based read on {@code id} (thesis §6.4.1). */
    RaftNode.ReadAccepted leaseRead(String id, long context) {
        Slot s = live(id);
        RaftNode.ReadAccepted result = s.node.leaseRead(context);
        process(s);
        return result;
    }

    /** From now on the node's disk stalls: nothing it asks to persist is written until released. */
    void holdPersistence(String id) {
        live(id).persistenceHeld = true;
    }

    /** The node's disk catches up: everything waiting is written, in order, and reported. */
    void releasePersistence(String id) {
        Slot s = live(id);
        s.persistenceHeld = false;
        persistPending(s);
        process(s);
    }

    /** Stops a node. Its disk keeps what was persisted; what was waiting for the disk is lost. */
    void crash(String id) {
        Slot s = live(id);
        s.node = null;
        s.pendingPersist.clear();
        s.persistenceHeld = false;
        s.applied = new ArrayList<>();
    }

    /**
     * Makes a crashed node's disk lose its log from {@code fromIndex} on, though it was synced: a
     * wiped data directory restored without its log ({@code fromIndex} 1), or a disk that lost its
     * tail. The saved term and vote survive. Raft assumes this never happens (§5.4 relies on what a
     * node acknowledged staying durable); a test uses it to check the cluster repairs such a node
     * instead of livelocking.
     */
    void loseSyncedLogFrom(String id, long fromIndex) {
        Slot s = slot(id);
        if (s.node != null) {
            throw new IllegalStateException(id + " is running; crash it first");
        }
        s.storage.truncateSuffix(fromIndex);
    }

    /** Starts a crashed node again from its log storage and saved term and vote. */
    void restart(String id) {
        Slot s = slot(id);
        if (s.node != null) {
            throw new IllegalStateException(id + " is running");
        }
        start(s);
    }

    // ---------------------------------------------------------------------------------------------
    // Observation
    // ---------------------------------------------------------------------------------------------

    RaftNode node(String id) {
        return live(id).node;
    }

    RaftConfig config() {
        return config;
    }

    List<String> ids() {
        return ids;
    }

    boolean isRunning(String id) {
        return slot(id).node != null;
    }

    /** The running leader with the highest term, or null if no running node leads. */
    String leader() {
        String best = null;
        long bestTerm = -1;
        for (Slot s : slots.values()) {
            if (s.node != null && s.node.role() == Role.LEADER && s.node.currentTerm() > bestTerm) {
                best = s.id;
                bestTerm = s.node.currentTerm();
            }
        }
        return best;
    }

    /** Every running node that believes it leads. */
    List<String> leaders() {
        List<String> out = new ArrayList<>();
        for (Slot s : slots.values()) {
            if (s.node != null && s.node.role() == Role.LEADER) {
                out.add(s.id);
            }
        }
        return out;
    }

    /** The node's whole log as the core sees it. */
    List<Entry> log(String id) {
        RaftNode n = node(id);
        return n.entries(1, n.lastIndex() + 1);
    }

    /** The terms of the node's log entries, from index 1. */
    List<Long> logTerms(String id) {
        List<Long> out = new ArrayList<>();
        for (Entry e : log(id)) {
            out.add(e.term());
        }
        return out;
    }

    /** What the node's storage holds (its durable log). */
    List<Entry> storedLog(String id) {
        MemoryLogStorage st = slot(id).storage;
        return st.entries(st.firstIndex(), st.lastIndex() + 1, Long.MAX_VALUE);
    }

    /** The node's saved term and vote. */
    TermAndVote savedTermAndVote(String id) {
        return slot(id).saved;
    }

    /** Entries applied by the node's state machine since it last started. */
    List<Entry> applied(String id) {
        return Collections.unmodifiableList(slot(id).applied);
    }

    /** Commands (as strings) the node applied since it last started, no-ops left out. */
    List<String> appliedCommands(String id) {
        return commands(slot(id).applied);
    }

    /** Commands (as strings) the node ever applied, across restarts. */
    List<String> everAppliedCommands(String id) {
        return commands(slot(id).everApplied);
    }

    private static List<String> commands(List<Entry> entries) {
        List<String> out = new ArrayList<>();
        for (Entry e : entries) {
            if (e.type() == EntryType.COMMAND) {
                out.add(new String(e.data(), StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    List<ReadState> readStates(String id) {
        return Collections.unmodifiableList(slot(id).readStates);
    }

    List<Long> failedReads(String id) {
        return Collections.unmodifiableList(slot(id).failedReads);
    }

    /** Queued AppendEntries from {@code from} to {@code to}. */
    long appendEntriesInFlight(String from, String to) {
        return network.inFlight().stream()
                .filter(m -> m instanceof AppendEntries && m.from().equals(from) && m.to().equals(to))
                .count();
    }

    private Slot slot(String id) {
        Slot s = slots.get(id);
        if (s == null) {
            throw new IllegalArgumentException("no node " + id + " among " + ids);
        }
        return s;
    }

    private Slot live(String id) {
        Slot s = slot(id);
        if (s.node == null) {
            throw new IllegalStateException(id + " is crashed");
        }
        return s;
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        for (Slot s : slots.values()) {
            parts.add(s.node == null ? s.id + "{crashed}" : s.node.toString());
        }
        return parts + " inFlight=" + network.inFlight().size();
    }
}
