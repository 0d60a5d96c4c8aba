package org.raftkit.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

import org.raftkit.RaftConfig;
import org.raftkit.RaftServer;
import org.raftkit.RaftServerAccess;
import org.raftkit.RaftStatus;
import org.raftkit.Role;
import org.raftkit.SnapshotConfig;
import org.raftkit.StateMachine;
import org.raftkit.memory.MemorySnapshotStore;
import org.raftkit.core.RaftNode;
import org.raftkit.message.Entry;
import org.raftkit.runtime.RaftRuntime;
import org.raftkit.runtime.RuntimeAccess;
import org.raftkit.spi.TermVoteStore;

/**
 * The whole-node simulator's cluster: real {@link RaftServer}s (runtime, core, client calls, apply)
 * on {@link SimScheduler}s, {@link SimDisk}s and a {@link NodeNetwork}, all on the simulation's one
 * thread. A crash abandons an incarnation where it stands (its futures never complete, its turns
 * never run, its unsynced writes partly reach the disk); a restart builds a new server from the
 * disk, as a process restart does.
 *
 * <p>After every turn of every loop it checks: the core's invariants; Election Safety, Log
 * Matching, Leader Completeness and State Machine Safety ({@link SafetyChecker}); that the commit
 * index never goes back; that every state machine applied index i once, in order, and the same
 * command there as every other; and that the bytes waiting for the disk stay within the bound the
 * runtime promises.
 */
final class NodeCluster implements SimScheduler.TurnListener, SimDisk.Observer {

    private final SimContext ctx;
    private final SplittableRandom random;
    private final List<String> ids;
    private final RaftConfig config;
    private final NodeNetwork network;
    private final Function<String, StateMachine> machines;
    private final SnapshotConfig snapshotConfig;
    /** The state machine digest at each index where some node took or restored a snapshot. */
    private final Map<Long, Object> digests = new HashMap<>();
    /** Snapshots taken and restored so far, across all nodes (for the run's summary). */
    long snapshotsTaken;
    long snapshotsRestored;
    /** A digest for a state machine, to compare snapshots across nodes; null when not comparable. */
    Function<StateMachine, Object> digest = machine -> null;
    private final SafetyChecker safety = new SafetyChecker();
    private final Map<String, Member> members = new LinkedHashMap<>();
    /** The command applied at each index, by whichever node applied it first. */
    private final Map<Long, byte[]> appliedCommands = new HashMap<>();
    /**
     * Set when every call's command is unique (the simulation's clients write a fresh value each
     * time): then a command applied at two indexes was applied twice, which sessions must prevent.
     */
    boolean commandsAreUnique;
    /** With {@link #commandsAreUnique}: the index each command was first applied at. */
    private final Map<java.nio.ByteBuffer, Long> commandIndexes = new HashMap<>();
    /** A violation found where throwing would be caught (inside a state machine); thrown after the turn. */
    private String violation;
    /**
     * What may wait for a node's disk, in entry bytes: as a follower, the budget plus the entries
     * of one turn's AppendEntries (at most one batch past the budget); as a leader, its proposals,
     * bounded by the budget in payload bytes and by twice maxPendingRequests in entries (each with
     * its overhead); and both at once across a change of role.
     */
    private final long diskBacklogBound;

    /** Told of every crash (the member, and the incarnation that crashed). */
    java.util.function.ObjIntConsumer<Member> onCrash = (m, incarnation) -> { };

    /** Called when a node crashes in the middle of a turn (an aimed crash), to schedule its restart. */
    Runnable onMidTurnCrash = () -> { };

    // The hooks below let a simulation whose membership changes (NodeMembershipSimulation) use this
    // cluster. Their defaults are the fixed-membership behaviour, and none draws from the random,
    // so a simulation that leaves them alone runs exactly as before for every seed.

    /** The voters every node not in {@link #joiners} starts with ({@code peers}); null: all of {@link #ids()}. */
    List<String> initialVoters;
    /** Nodes started with {@code RaftServer.Builder.join()}: brand-new servers that wait to be added. */
    final java.util.Set<String> joiners = new java.util.HashSet<>();
    /** Whether a node may be started now (false for a spare no one has brought up yet). */
    java.util.function.Predicate<Member> mayStart = m -> true;
    /** Which nodes the convergence check covers (the members of the final configuration, say). */
    java.util.function.Predicate<Member> inConvergence = m -> true;
    /**
     * How many of a crashed node's last synced entries it may lose without losing anything
     * committed; null: those a majority of {@link #ids()} other than it hold (fixed membership).
     */
    java.util.function.ToLongFunction<Member> safelyLosable;
    /** Called after every checked turn of a Raft loop, with the node's core (null: nothing). */
    java.util.function.BiConsumer<Member, RaftNode> afterRaftTurn;

    /** One node across its incarnations. */
    static final class Member {
        final String id;
        final SimDisk disk;
        SimScheduler scheduler;
        /** The rate of this machine's clock, kept across restarts ({@link SimScheduler#clockRate}). */
        double clockRate = 1.0;
        NodeNetwork.Endpoint endpoint;
        RaftServer server;
        int incarnation;
        long lastCommit;
        long leaderTerm = -1;
        /** Highest index this incarnation's state machine applied a command at. */
        long applied;
        /** This incarnation's state machine, as the application built it. */
        StateMachine machine;
        /** The snapshots on this node's disk; each incarnation gets a copy (unpublished work is lost in a crash). */
        MemorySnapshotStore snapshots = new MemorySnapshotStore();

        Member(String id, SimDisk disk) {
            this.id = id;
            this.disk = disk;
        }

        boolean isUp() {
            return server != null;
        }
    }

    NodeCluster(SimContext ctx, List<String> ids, RaftConfig config, NodeNetwork network,
                Function<String, StateMachine> machines) {
        this(ctx, ids, config, null, network, machines);
    }

    /**
     * @param snapshotConfig when the nodes take snapshots; null for none (no snapshot store)
     */
    NodeCluster(SimContext ctx, List<String> ids, RaftConfig config, SnapshotConfig snapshotConfig,
                NodeNetwork network, Function<String, StateMachine> machines) {
        this.snapshotConfig = snapshotConfig;
        this.diskBacklogBound = 2 * config.maxPendingBytes() + config.maxAppendBytes() + config.maxCommandBytes()
                + (long) Entry.OVERHEAD_BYTES * (2L * config.maxPendingRequests() + 2);
        this.ctx = ctx;
        this.random = ctx.random;
        this.ids = ids;
        this.config = config;
        this.network = network;
        this.machines = machines;
        for (String id : ids) {
            members.put(id, new Member(id, new SimDisk(id, this)));
        }
        network.lastIndexOf = id -> {
            Member m = members.get(id);
            return m == null || !m.isUp() ? -1 : m.server.status().lastLogIndex();
        };
    }

    List<String> ids() {
        return ids;
    }

    Member member(String id) {
        return members.get(id);
    }

    List<Member> members() {
        return new ArrayList<>(members.values());
    }

    RaftConfig config() {
        return config;
    }

    /** The server of {@code id}'s current incarnation, or null while it is down. */
    RaftServer server(String id) {
        return members.get(id).server;
    }

    // ---------------------------------------------------------------------------------------------
    // Lifecycle
    // ---------------------------------------------------------------------------------------------

    /** Builds and starts a new incarnation from what the node's disk holds. */
    void restart(Member m) {
        if (m.isUp() || !mayStart.test(m)) {
            return;
        }
        m.incarnation++;
        m.scheduler = new SimScheduler(ctx, m.id, this);
        m.scheduler.clockRate = m.clockRate;
        m.endpoint = network.open(m.id);
        SimDisk disk = m.disk;
        m.endpoint.mute = () -> disk.crashing;
        m.machine = machines.apply(m.id);
        StateMachine machine = new CheckedMachine(m, m.incarnation, m.machine);
        m.lastCommit = 0;
        m.leaderTerm = -1;
        m.applied = 0;
        RaftServer.Builder builder = RaftServer.builder()
                .id(m.id)
                .stateMachine(machine)
                .logStorage(disk.openLog())
                .termVoteStore(disk.openTermVoteStore())
                .transport(m.endpoint)
                .config(config)
                .random(random.nextLong())
                .scheduler(m.scheduler);
        if (joiners.contains(m.id)) {
            builder.join();
        } else {
            builder.peers(initialVoters != null ? initialVoters : ids);
        }
        if (snapshotConfig != null) {
            m.snapshots = m.snapshots.copy();
            builder.snapshotStore(m.snapshots).snapshotConfig(snapshotConfig);
        }
        m.server = builder.build();
        ctx.note(m.id + " starts (incarnation " + m.incarnation + ", term "
                + disk.durableTermAndVote().currentTerm() + ", last index " + disk.durableLastIndex() + ")");
        m.server.start();
    }

    /** What a crash does to a node's synced entries, besides losing what it had not synced. */
    enum Loss {
        /** Nothing synced is lost. */
        NONE,
        /** Some of its last synced entries, as far as a majority of the others hold them. */
        SOME_SAFE,
        /** All of its last synced entries that a majority of the others hold. */
        ALL_SAFE
    }

    /**
     * Crashes the node where it stands: nothing of this incarnation runs or sends again, and its
     * writes since the last sync reach the disk only in part. Synced entries are lost only as far
     * as a majority of the other nodes hold every entry dropped (so nothing committed depends on
     * this node, and no candidate missing them can be elected).
     */
    void crash(Member m, Loss loss) {
        if (!m.isUp()) {
            return;
        }
        m.scheduler.kill();
        m.endpoint.close();
        m.disk.crash(random);
        m.server = null;
        onCrash.accept(m, m.incarnation);
        String lost = "";
        if (loss != Loss.NONE) {
            long safe = safelyLosable != null ? safelyLosable.applyAsLong(m) : safelyLosable(m);
            if (safe > 0) {
                long count = loss == Loss.ALL_SAFE ? safe : 1 + random.nextLong(safe);
                m.disk.loseTail(count);
                lost = ", and its disk lost its last " + count + " synced entries";
            }
        }
        ctx.note(m.id + " crashed (incarnation " + m.incarnation + ")" + lost);
    }

    /** How many entries at the end of {@code m}'s durable log a majority of the others also hold. */
    private long safelyLosable(Member m) {
        int majority = ids.size() / 2 + 1;
        long count = 0;
        for (long i = m.disk.durableLastIndex(); i >= m.disk.durableFirstIndex(); i--) {
            long term = m.disk.durableTerm(i);
            int holders = 0;
            for (Member o : members.values()) {
                if (o != m && o.disk.durableTerm(i) == term) {
                    holders++;
                }
            }
            if (holders < majority) {
                break;
            }
            count++;
        }
        return count;
    }

    // ---------------------------------------------------------------------------------------------
    // Convergence
    // ---------------------------------------------------------------------------------------------

    /**
     * Runs until the cluster has converged (see {@link #notConvergedBecause()}), checking
     * {@code between} every 100 ms of virtual time.
     *
     * @throws IllegalStateException if it has not within {@code deadlineMicros}
     */
    void awaitConvergence(long deadlineMicros, Runnable between) {
        long deadline = ctx.now() + deadlineMicros;
        while (ctx.now() < deadline) {
            ctx.runUntil(ctx.now() + 100_000);
            between.run();
            if (notConvergedBecause() == null) {
                return;
            }
        }
        throw new IllegalStateException("did not converge within " + deadlineMicros / 1_000_000
                + " s after healing: " + notConvergedBecause());
    }

    /** Null when converged: one leader everyone follows, identical logs, all committed and applied. */
    String notConvergedBecause() {
        Member leader = null;
        RaftStatus leaderStatus = null;
        for (Member m : members.values()) {
            if (!inConvergence.test(m)) {
                continue;
            }
            if (!m.isUp()) {
                return m.id + " is down";
            }
            RaftStatus s = m.server.status();
            if (s.role() == Role.LEADER && (leaderStatus == null || s.term() > leaderStatus.term())) {
                leader = m;
                leaderStatus = s;
            }
        }
        if (leader == null) {
            return "no leader";
        }
        long last = leaderStatus.lastLogIndex();
        for (Member m : members.values()) {
            if (!inConvergence.test(m)) {
                continue;
            }
            RaftStatus s = m.server.status();
            if (!leader.id.equals(s.leaderId()) || s.term() != leaderStatus.term()) {
                return m.id + " follows " + s.leaderId() + " at term " + s.term();
            }
            if (s.lastLogIndex() != last || s.commitIndex() != last || s.appliedIndex() != last) {
                return m.id + " at last=" + s.lastLogIndex() + " commit=" + s.commitIndex() + " applied="
                        + s.appliedIndex() + ", leader " + leader.id + " at " + last + " ("
                        + RuntimeAccess.core(RaftServerAccess.runtime(leader.server)).describe() + "; " + m.id + ": "
                        + RuntimeAccess.core(RaftServerAccess.runtime(m.server)).describe() + ")";
            }
        }
        RaftNode leaderCore = RuntimeAccess.core(RaftServerAccess.runtime(leader.server));
        for (Member m : members.values()) {
            if (!inConvergence.test(m)) {
                continue;
            }
            RaftNode core = RuntimeAccess.core(RaftServerAccess.runtime(m.server));
            long from = Math.max(core.firstIndex(), leaderCore.firstIndex());
            if (!core.entries(from, last + 1).equals(leaderCore.entries(from, last + 1))) {
                throw new IllegalStateException("logs of " + m.id + " and " + leader.id
                        + " differ though both committed " + last);
            }
        }
        return null;
    }

    // ---------------------------------------------------------------------------------------------
    // Checks
    // ---------------------------------------------------------------------------------------------

    @Override
    public void afterTurn(SimScheduler scheduler, SimScheduler.Kind kind) {
        Member m = members.get(scheduler.nodeId);
        if (m.scheduler != scheduler || !m.isUp()) {
            return;
        }
        if (violation != null) {
            throw new IllegalStateException(violation);
        }
        if (network.storm != null) {
            throw new IllegalStateException(network.storm);
        }
        if (m.disk.crashing) {
            ctx.note(m.id + " loses power during a sync (aimed)");
            crash(m, Loss.NONE);
            onMidTurnCrash.run();
            return;
        }
        RaftRuntime runtime = RaftServerAccess.runtime(m.server);
        RaftStatus status = m.server.status();
        if (status.state() == RaftStatus.State.FAILED) {
            throw new IllegalStateException(m.id + " stopped (fail-stop): " + status.failure(), status.failure());
        }
        if (kind == SimScheduler.Kind.RAFT) {
            checkCore(m, RuntimeAccess.core(runtime));
            if (afterRaftTurn != null) {
                afterRaftTurn.accept(m, RuntimeAccess.core(runtime));
            }
        }
        long waiting = RuntimeAccess.storageQueuedBytes(runtime);
        if (waiting > diskBacklogBound) {
            throw new IllegalStateException(m.id + " has " + waiting + " bytes waiting for the disk, over the bound "
                    + diskBacklogBound + " the runtime promises");
        }
    }

    private void checkCore(Member m, RaftNode core) {
        core.checkInvariants();
        if (core.role() == Role.LEADER && m.leaderTerm != core.currentTerm()) {
            m.leaderTerm = core.currentTerm();
            safety.onLeader(m.id, core.currentTerm());
            // Entries compacted into the leader's snapshot are committed state it holds by construction
            // (snapshots are checked against each other by digest): check the log it still has.
            long compacted = core.firstIndex() - 1;
            safety.checkLeaderCompleteness(m.id, core.currentTerm(),
                    i -> i < compacted && safety.committedAt(i) != null ? safety.committedAt(i).term() : core.termAt(i));
        }
        long commit = core.commitIndex();
        if (commit < m.lastCommit) {
            throw new IllegalStateException(m.id + " commitIndex went back from " + m.lastCommit + " to " + commit);
        }
        if (commit > m.lastCommit) {
            // A node that installed a snapshot jumps over entries it never held in its log.
            long from = Math.max(m.lastCommit + 1, core.firstIndex());
            if (from <= commit) {
                safety.onCommitted(m.id, core.entries(from, commit + 1));
            }
            m.lastCommit = commit;
        }
    }

    @Override
    public void onEntriesInLog(String node, long prevTerm, List<Entry> entries) {
        safety.onEntriesInLog(node, prevTerm, entries);
    }

    @Override
    public void onTermAndVoteDurable(String node, TermVoteStore.TermAndVote state) {
        safety.onHardStateDurable(node, state);
    }

    /** The command applied at {@code index} anywhere, or null if none was yet. */
    byte[] appliedCommand(long index) {
        return appliedCommands.get(index);
    }

    /** Highest index known committed anywhere so far. */
    long highestCommitted() {
        return safety.highestCommitted();
    }

    /** Highest index any node applied. */
    long highestApplied() {
        long max = 0;
        for (long i : appliedCommands.keySet()) {
            max = Math.max(max, i);
        }
        return max;
    }

    private void onApplied(Member m, int incarnation, long index, byte[] command) {
        if (m.incarnation != incarnation) {
            return;
        }
        if (index <= m.applied) {
            violation = m.id + " applied index " + index + " after " + m.applied;
        }
        m.applied = index;
        byte[] first = appliedCommands.putIfAbsent(index, command.clone());
        if (first != null && !Arrays.equals(first, command)) {
            violation = m.id + " applied a different command at index " + index + " than another node did";
        }
        if (commandsAreUnique && first == null) {
            Long earlier = commandIndexes.putIfAbsent(java.nio.ByteBuffer.wrap(command.clone()), index);
            if (earlier != null) {
                violation = m.id + " applied the command of index " + earlier + " again at index " + index
                        + " (a retried or duplicated call applied twice)";
            }
        }
    }

    /** Wraps the application's machine to see every apply (State Machine Safety, in order, once). */
    private final class CheckedMachine implements StateMachine {
        private final Member m;
        private final int incarnation;
        private final StateMachine delegate;

        CheckedMachine(Member m, int incarnation, StateMachine delegate) {
            this.m = m;
            this.incarnation = incarnation;
            this.delegate = delegate;
        }

        @Override
        public byte[] apply(long index, byte[] command) {
            onApplied(m, incarnation, index, command);
            return delegate.apply(index, command);
        }

        @Override
        public byte[] query(byte[] query) {
            return delegate.query(query);
        }

        /** Also records the state's digest at the applied index: every node's must agree there. */
        @Override
        public Snapshot snapshot() {
            Snapshot capture = delegate.snapshot();
            snapshotsTaken++;
            if (capture != null && m.incarnation == incarnation) {
                checkDigest(m.id + " took a snapshot", m.applied, digest.apply(delegate));
            }
            return capture;
        }

        /** After a restore, the state must be the one every node had at the snapshot's index. */
        @Override
        public void restore(java.io.InputStream in) throws java.io.IOException {
            delegate.restore(in);
            snapshotsRestored++;
            if (m.incarnation == incarnation && delegate instanceof NodeKvMachine kv) {
                m.applied = kv.lastIndex();
                checkDigest(m.id + " restored a snapshot", m.applied, digest.apply(delegate));
            }
        }
    }

    private void checkDigest(String what, long index, Object value) {
        if (value == null) {
            return;
        }
        Object first = digests.putIfAbsent(index, value);
        if (first != null && !first.equals(value)) {
            violation = what + " at index " + index + " whose state differs from another node's there: " + value
                    + " vs " + first;
        }
    }
}
