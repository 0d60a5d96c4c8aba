package org.raftkit.sim;

import static org.raftkit.sim.Simulation.SECONDS;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

import org.raftkit.ClusterConfiguration;
import org.raftkit.MembershipChangeException;
import org.raftkit.RaftConfig;
import org.raftkit.RaftStatus;
import org.raftkit.Role;
import org.raftkit.SnapshotConfig;
import org.raftkit.core.Configuration;
import org.raftkit.core.RaftNode;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
import org.raftkit.message.Message;
import org.raftkit.message.RequestVoteReply;
import org.raftkit.sim.NodeCluster.Member;

/**
 * One seeded run of whole nodes whose membership changes while everything else goes wrong: the
 * faults and clients of {@link NodeSimulation} ({@link NodeNemesis}, {@link NodeClients}), plus an
 * operator ({@link NodeOperator}) that changes the configuration through the public
 * {@code RaftServer} API only: brand-new servers started with {@code join()} on empty disks, added
 * as learners and promoted (thesis §4.2.1), voters removed, the leader among them (§4.2.2), members
 * replaced, leadership handed to random targets (§3.10), and concurrent changes racing on the
 * expected configuration index. A removed server is left running (as an operator who has not shut
 * it down yet would), to see that it does not disrupt the cluster (§4.2.3).
 *
 * <p>Checks, besides those of {@link NodeCluster} after every turn (Election Safety, Log Matching,
 * Leader Completeness, State Machine Safety, and that each committed configuration is a one-step
 * successor of the one before, §4.3):
 * <ul>
 *   <li>a leader won its election with the votes of a majority of the voters of each part of its
 *       configuration, counting no learner and no stranger; and each commit index a leader reaches
 *       is held on the disk of a majority of the voters of each part (learners never count in a
 *       quorum);</li>
 *   <li>a server never becomes leader once the configuration that removed it is committed;</li>
 *   <li>every membership call that completed successfully returned a configuration that is the one
 *       committed at that index, and says what the call asked for; of two changes made from the same
 *       read, at most one succeeds, the other refused with {@link MembershipChangeException}; a
 *       change from a stale read never succeeds; a successful transfer names a server that led;</li>
 *   <li>at the end, after healing: the members of the last committed configuration converge (one
 *       leader, identical logs, everything applied), that configuration is simple and has at least
 *       three voters, every acknowledged write is applied on each member, the state machines are
 *       equal, and the history is linearizable;</li>
 *   <li>then, once no message from the fault phase can still arrive, with the removed servers still
 *       running and the network calm for a few seconds, the
 *       members' leader and term do not change (removed servers cause no term inflation). Only
 *       with PreVote or CheckQuorum on: they make nodes ignore vote requests while they hear from
 *       a leader (§4.2.3); without either, RaftConfig says a removed server may disrupt.</li>
 * </ul>
 */
public final class NodeMembershipSimulation {

    static final long FAULT_PHASE = 10 * SECONDS;
    static final long HEALED_PHASE = 3 * SECONDS;
    static final long CONVERGENCE_DEADLINE = 30 * SECONDS;
    /** How long the converged cluster is watched for disruption by the servers it removed. */
    static final long QUIET_PHASE = 3 * SECONDS;
    /**
     * When no message sent during the faults can still arrive: NodeNetwork holds a late message
     * at most five seconds, and none is held once healed.
     */
    static final long LATE_MESSAGES_DRAINED = FAULT_PHASE + 5_500 * Simulation.MILLIS;

    private final long seed;
    private final SimContext ctx;
    private final List<String> initial = new ArrayList<>();
    private final List<String> ids = new ArrayList<>();
    private final RaftConfig config;
    private final SnapshotConfig snapshotConfig;
    private final NodeCluster cluster;
    private final NodeClients clients;
    private final NodeNemesis nemesis;
    private final NodeNetwork network;
    private final NodeOperator operator;

    /** Configurations committed, by the index of their entry. */
    private final TreeMap<Long, Configuration> committedConfigurations = new TreeMap<>();
    /** Each server removed, and the index of the committed configuration that removed it. */
    private final Map<String, Long> removedAt = new HashMap<>();
    /** Every voter set (of either part) any node has used, for which disk losses are safe. */
    private final Set<Set<String>> voterSets = new LinkedHashSet<>();
    /** Votes granted (not PreVotes), by "candidate@term". */
    private final Map<String, Set<String>> votes = new HashMap<>();
    /** Per node: {incarnation, commit index seen last, term it led last (or -1)}. */
    private final Map<String, long[]> seen = new HashMap<>();
    /** Per node: the configuration it used after its last Raft turn (a commit computed early in a turn used it). */
    private final Map<String, Configuration> usedBefore = new HashMap<>();
    /** Who led each term. */
    private final Map<Long, String> leaders = new HashMap<>();
    private String violation;
    /** Granted votes sent by servers that were not voters of their own configuration (allowed; never counted). */
    private long learnerVotes;
    private boolean healed;

    /** What a run produced. */
    public record Result(long seed, boolean passed, String failure, int nodes, long operations, long okOperations,
                         int membershipCalls, int membershipOk, int configurationsCommitted, String finalConfiguration,
                         long nonVoterVotes, String trace) {
    }

    public NodeMembershipSimulation(long seed) {
        this.seed = seed;
        this.ctx = new SimContext(seed);
        SplittableRandom random = ctx.random;
        int size = random.nextInt(4) == 0 ? 5 : 3;
        int spares = 3 + random.nextInt(4);
        for (int i = 1; i <= size + spares; i++) {
            if (i <= size) {
                initial.add("n" + i);
            }
            ids.add("n" + i);
        }
        this.config = NodeSimulation.randomConfig(random);
        this.snapshotConfig = NodeSimulation.randomSnapshotConfig(random);
        long carries = Math.max(Math.max(config.maxAppendBytes(), config.maxCommandBytes() + Entry.SESSION_HEADER_BYTES + Entry.OVERHEAD_BYTES),
                snapshotConfig == null ? 0 : snapshotConfig.chunkBytes() + 64L);
        this.network = new NodeNetwork(ctx, new SimNetwork(random.split(), ids), carries);
        this.cluster = new NodeCluster(ctx, ids, config, snapshotConfig, network, id -> new NodeKvMachine());
        cluster.commandsAreUnique = true;
        cluster.digest = machine -> ((NodeKvMachine) machine).digest();
        cluster.initialVoters = initial;
        this.operator = new NodeOperator(ctx, cluster, initial, ids.subList(size, ids.size()));
        cluster.mayStart = m -> operator.brought.contains(m.id);
        cluster.inConvergence = m -> lastCommitted().contains(m.id);
        cluster.safelyLosable = this::safelyLosable;
        cluster.afterRaftTurn = this::afterRaftTurn;
        network.onSend = this::onSend;
        this.clients = new NodeClients(ctx, cluster, 2 + random.nextInt(6), 1 + random.nextInt(8));
        this.nemesis = new NodeNemesis(ctx, cluster, network);
        // During the faults clients call any server brought up, removed ones too (a client with a
        // stale list); once healed, the members, as a client that refreshed its list.
        clients.targets = () -> new ArrayList<>(healed ? new java.util.TreeSet<>(lastCommitted()) : operator.brought);
        nemesis.clients = clients;
        cluster.onCrash = clients::onCrash;
    }

    /** Runs the whole simulation; never throws for a failure, it reports it. */
    public Result run() {
        String failure = null;
        try {
            ctx.note("cluster " + initial + ", spares " + ids.subList(initial.size(), ids.size()) + " " + config + " "
                    + snapshotConfig);
            committedConfigurations.put(0L, Configuration.ofVoters(initial));
            voterSets.add(new HashSet<>(initial));
            for (String id : initial) {
                cluster.restart(cluster.member(id));
            }
            clients.start();
            nemesis.start();
            operator.start();
            runChecked(FAULT_PHASE);
            operator.stop();
            nemesis.stopAndHeal();
            clients.faultsOver();
            healed = true;
            ctx.note(learnerVotes + " votes granted by non-voters so far (never counted)");
            runChecked(FAULT_PHASE + HEALED_PHASE);
            clients.stop();
            cluster.awaitConvergence(CONVERGENCE_DEADLINE, () -> {
                clients.check();
                check();
            });
            clients.check();
            check();
            checkEnd();
            checkQuiet();
        } catch (RuntimeException | AssertionError e) {
            failure = e.getClass().getSimpleName() + ": " + e.getMessage();
            ctx.note("FAILURE " + failure);
        }
        int ok = 0;
        for (NodeOperator.Call c : operator.calls) {
            ok += c.succeeded() ? 1 : 0;
        }
        return new Result(seed, failure == null, failure, operator.brought.size(), clients.history().size(),
                clients.okOperations(), operator.calls.size(), ok, committedConfigurations.size() - 1,
                String.valueOf(committedConfigurations.lastEntry().getValue()), learnerVotes, ctx.trace());
    }

    private void runChecked(long until) {
        while (ctx.now() < until) {
            ctx.runUntil(Math.min(until, ctx.now() + 100_000));
            check();
        }
    }

    private void check() {
        operator.check();
        if (violation != null) {
            throw new IllegalStateException(violation);
        }
    }

    /** The servers of the latest committed configuration (both parts while joint). */
    private Set<String> lastCommitted() {
        Set<String> out = new HashSet<>();
        for (Configuration.Member m : committedConfigurations.lastEntry().getValue().allMembers()) {
            out.add(m.id());
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------
    // Checks after every turn
    // ---------------------------------------------------------------------------------------------

    private void onSend(Message m) {
        if (healed && (m instanceof org.raftkit.message.TimeoutNow
                || m instanceof org.raftkit.message.RequestVote rv && !rv.preVote())) {
            // Rare once healed, and what the quiet phase's check is about: noted to explain a failure.
            ctx.note(m.from() + " sends " + m);
        }
        if (m instanceof RequestVoteReply r && r.voteGranted() && !r.preVote()) {
            votes.computeIfAbsent(r.to() + "@" + r.term(), k -> new HashSet<>()).add(r.from());
            Member voter = cluster.member(r.from());
            if (voter.isUp() && !voter.server.configuration().configuration().allVoters().contains(r.from())) {
                learnerVotes++; // harmless (thesis §4.2.2: a server votes on term and log alone); counted, never counted in a quorum
            }
        }
    }

    private void afterRaftTurn(Member m, RaftNode core) {
        long[] s = seen.computeIfAbsent(m.id, k -> new long[] {-1, 0, -1});
        if (s[0] != m.incarnation) {
            s[0] = m.incarnation;
            s[1] = 0;
            s[2] = -1;
        }
        Configuration c = core.configuration();
        if (!c.voters().isEmpty()) {
            voterSets.add(c.voters());
        }
        if (c.isJoint()) {
            voterSets.add(c.outgoingVoters());
        }
        long commit = core.commitIndex();
        if (commit > s[1]) {
            for (Entry e : core.entries(Math.max(s[1] + 1, core.firstIndex()), commit + 1)) {
                if (e.type() == EntryType.CONFIGURATION && !committedConfigurations.containsKey(e.index())) {
                    onConfigurationCommitted(e.index(), Configuration.decode(e.data()));
                }
            }
        }
        if (core.role() == Role.LEADER) {
            long term = core.currentTerm();
            if (s[2] != term) {
                s[2] = term;
                onBecameLeader(m, core, c, term);
            } else if (commit > s[1] && core.termAt(commit) == term) {
                checkCommitQuorum(m, usedBefore.get(m.id), c, commit, term);
            }
        }
        s[1] = Math.max(s[1], commit);
        usedBefore.put(m.id, c);
    }

    private void onConfigurationCommitted(long index, Configuration next) {
        Map.Entry<Long, Configuration> before = committedConfigurations.lowerEntry(index);
        committedConfigurations.put(index, next);
        ctx.note("configuration committed at " + index + ": " + next);
        if (before != null && committedConfigurations.higherKey(index) == null) {
            for (Configuration.Member old : before.getValue().allMembers()) {
                if (!next.contains(old.id()) && !removedAt.containsKey(old.id())) {
                    removedAt.put(old.id(), index);
                }
            }
        }
    }

    private void onBecameLeader(Member m, RaftNode core, Configuration c, long term) {
        leaders.put(term, m.id);
        Long removed = removedAt.get(m.id);
        if (removed != null) {
            violation = m.id + " became leader at term " + term + " though the configuration committed at " + removed
                    + " removed it";
            return;
        }
        Set<String> granted = new HashSet<>(votes.getOrDefault(m.id + "@" + term, Set.of()));
        granted.add(m.id);
        if (!majorityOfEachPart(c, granted::contains)) {
            violation = m.id + " leads term " + term + " with votes only from " + granted + ", not a majority of the voters of "
                    + c + " (a learner's or stranger's vote counted?)";
        }
    }

    /**
     * Learners never count: the entry at the new commit index must be on the disks of a majority of
     * the voters of the configuration the leader used, before this turn or after it (a turn may
     * commit with one configuration and then append the next).
     */
    private void checkCommitQuorum(Member leader, Configuration before, Configuration after, long commit, long term) {
        java.util.function.Predicate<String> holds = id -> {
            if (id.equals(leader.id)) {
                return true;
            }
            Member v = cluster.member(id);
            return v != null && (v.disk.durableTerm(commit) == term || v.disk.durableFirstIndex() > commit);
        };
        if (!majorityOfEachPart(after, holds) && (before == null || !majorityOfEachPart(before, holds))) {
            violation = leader.id + " committed index " + commit + " at term " + term
                    + " which is not on the disk of a majority of the voters of " + after + " (did a learner count?)";
        }
    }

    private static boolean majorityOfEachPart(Configuration c, java.util.function.Predicate<String> in) {
        return isMajority(c.voters(), in) && (!c.isJoint() || isMajority(c.outgoingVoters(), in));
    }

    private static boolean isMajority(Set<String> voters, java.util.function.Predicate<String> in) {
        int n = 0;
        for (String v : voters) {
            n += in.test(v) ? 1 : 0;
        }
        return n > voters.size() / 2;
    }

    /**
     * How many of a crashed node's last synced entries it may lose: those that, in every voter set
     * any node ever used, a majority other than it hold (a stricter rule than {@link NodeCluster}'s
     * for a fixed membership, since an old configuration may still elect a leader).
     */
    private long safelyLosable(Member m) {
        long count = 0;
        for (long i = m.disk.durableLastIndex(); i >= m.disk.durableFirstIndex() && i > 0; i--) {
            long term = m.disk.durableTerm(i);
            final long index = i;
            for (Set<String> voters : voterSets) {
                if (!isMajority(voters, id -> !id.equals(m.id) && cluster.member(id).disk.durableTerm(index) == term)) {
                    return count;
                }
            }
            count++;
        }
        return count;
    }

    // ---------------------------------------------------------------------------------------------
    // Checks at the end
    // ---------------------------------------------------------------------------------------------

    private void checkEnd() {
        Configuration last = committedConfigurations.lastEntry().getValue();
        if (last.isJoint()) {
            throw new IllegalStateException("the cluster converged in a joint configuration " + last);
        }
        if (last.voters().size() < 3) {
            throw new IllegalStateException("the cluster ended with fewer than three voters: " + last);
        }
        checkCalls();
        List<Member> members = new ArrayList<>();
        for (Member m : cluster.members()) {
            if (!last.contains(m.id)) {
                continue;
            }
            if (!m.server.configuration().configuration().equals(last)) {
                throw new IllegalStateException(m.id + " uses " + m.server.configuration() + ", not the committed " + last);
            }
            members.add(m);
        }
        NodeSimulation.checkEnd(members, clients);
    }

    /** Every membership call that succeeded is in the committed configuration sequence, as asked. */
    private void checkCalls() {
        for (NodeOperator.Call call : operator.calls) {
            if (!call.succeeded()) {
                continue;
            }
            if (call.op.equals("transferLeadership")) {
                if (!leaders.containsValue(call.newLeader)) {
                    throw new IllegalStateException(call + ": " + call.newLeader + " never led");
                }
                continue;
            }
            ClusterConfiguration r = call.result;
            Configuration committed = committedConfigurations.get(r.index());
            if (committed == null || !committed.equals(r.configuration())) {
                throw new IllegalStateException(call + ": the configuration committed at " + r.index() + " is " + committed);
            }
            Configuration got = r.configuration();
            String wrong = switch (call.op) {
                case "addLearner" -> got.contains(call.id) && !got.isVoter(call.id) ? null : "not a learner";
                case "promote" -> got.isVoter(call.id) ? null : "not a voter";
                case "removeMember" -> got.contains(call.id) ? "still a member" : null;
                case "replaceMember" -> got.isVoter(call.id) && !got.contains(call.oldId) ? null : "not replaced";
                case "changeMembership" -> {
                    if (call.rival != null && call.rival.succeeded()) {
                        yield "both changes made from index " + call.expectedIndex + " succeeded: " + call.rival;
                    }
                    if (call.rival != null && call.rival.failure instanceof org.raftkit.UnknownOutcomeException) {
                        // Unknown means accepted, then not seen through: both were accepted from one read.
                        yield "its rival from the same index was accepted too: " + call.rival;
                    }
                    if (call.rival == null) {
                        yield "a change from a stale configuration index succeeded";
                    }
                    yield Set.copyOf(got.members()).equals(Set.copyOf(call.members)) ? null : "not as asked";
                }
                default -> "unknown call";
            };
            if (wrong != null) {
                throw new IllegalStateException("membership call " + call + ": " + wrong);
            }
            if (got.isJoint()) {
                throw new IllegalStateException("membership call " + call + " completed with a joint configuration");
            }
        }
    }

    /**
     * With the network calm and the removed servers still running, the members keep their leader
     * and term: a removed server that missed its removal may campaign, but must not make anyone
     * move to its term (thesis §4.2.3).
     */
    private void checkQuiet() {
        if (!config.preVote() && !config.checkQuorum()) {
            // Without either, nodes do not ignore vote requests while they hear from a leader
            // (RaftConfig says so): a removed server may then disrupt, as thesis §4.2.3 warns.
            return;
        }
        // A message sent before the faults ended may arrive seconds late and stir the cluster: a
        // late TimeoutNow of a transfer that already gave up starts an election (seed 3143), and a
        // heartbeat sent to a server before its removal, answered with the term it inflated while
        // cut off, deposes the leader (seed 2050; §5.1: a higher term in any answer deposes a leader).
        // Neither is what this check is about: it starts once no such message is left.
        ctx.runUntil(Math.max(ctx.now(), LATE_MESSAGES_DRAINED));
        cluster.awaitConvergence(CONVERGENCE_DEADLINE, this::check);
        Map<String, RaftStatus> before = new HashMap<>();
        for (Member m : cluster.members()) {
            if (lastCommitted().contains(m.id)) {
                before.put(m.id, m.server.status());
            }
        }
        ctx.runUntil(ctx.now() + QUIET_PHASE);
        check();
        for (Member m : cluster.members()) {
            RaftStatus b = before.get(m.id);
            if (b == null || !m.isUp()) {
                continue;
            }
            RaftStatus a = m.server.status();
            if (a.term() != b.term() || !java.util.Objects.equals(a.leaderId(), b.leaderId()) || a.role() != b.role()) {
                throw new IllegalStateException("the converged cluster was disrupted with removed servers " + removedAt.keySet()
                        + " running: " + m.id + " went from " + b.role() + " at term " + b.term() + " (leader " + b.leaderId()
                        + ") to " + a.role() + " at term " + a.term() + " (leader " + a.leaderId() + ")");
            }
        }
    }
}
