package org.raftkit.core;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.random.RandomGenerator;

import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.HeartbeatReply;
import org.raftkit.message.InstallSnapshot;
import org.raftkit.message.InstallSnapshotReply;
import org.raftkit.message.RaftMessage;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.message.ReadIndexRequest;
import org.raftkit.message.RequestVote;
import org.raftkit.message.RequestVoteReply;
import org.raftkit.message.TimeoutNow;
import org.raftkit.spi.LogStorage;
import org.raftkit.spi.TermVoteStore.TermAndVote;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Raft server as a pure state machine: the front door of the core.
 *
 * <p>Inputs are method calls that return at once: {@link #tick()}, {@link #step(RaftMessage)},
 * {@link #propose(byte[])}, {@link #readIndex(long)}, and the driver's reports
 * {@link #onPersisted} and {@link #onApplied}. Outputs are data, collected into a {@link Ready}
 * taken with {@link #ready()}; its Javadoc gives the order the driver must keep.
 *
 * <p>No threads, no I/O, no clock: time is {@link #tick()}, randomness the {@link RandomGenerator}
 * passed in. Not thread-safe: one thread (the runtime's Raft thread, or a simulator) calls it.
 *
 * <p>Where things are: the §5.1 term rule and role changes ({@code becomeFollower},
 * {@code becomePreCandidate}, {@code becomeCandidate}, {@code becomeLeader}) are here; elections
 * and votes (§5.2, §5.4.1, PreVote) in {@link Election}; AppendEntries, heartbeats and commitment
 * (§5.3, §5.4.2) in {@link Replication}; ReadIndex (thesis §6.4) in {@link ReadIndex}; log
 * compaction and InstallSnapshot (§7, Figure 13) in {@link Snapshots}; membership changes, joint
 * consensus and learners (thesis chapter 4) in {@link Membership}; leadership transfer (thesis
 * §3.10) in {@link LeadershipTransfer}.
 */
public final class RaftNode {

    /** {@link #propose} result: this node is not the leader; nothing was appended. */
    public static final long NOT_LEADER = -1;

    /**
     * {@link #propose} result: this node leads but is handing leadership over (thesis §3.10);
     * nothing was appended. Retry at the new leader.
     */
    public static final long TRANSFERRING_LEADERSHIP = -2;

    /** {@link #readIndex} result. */
    public enum ReadAccepted {
        /** The read is under way; it ends in a {@link ReadState} or in {@link Ready#failedReads()}. */
        ACCEPTED,
        /** This node is not leader and knows no leader to ask. */
        NO_LEADER
    }

    private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);

    final String id;
    final RaftConfig config;
    final RandomGenerator random;
    final RaftLog log;

    /** [persistent] Latest term this node has seen. Saved before any message that depends on it leaves. */
    long currentTerm;
    /** [persistent] Candidate that received this node's vote in currentTerm, or null. Saved before the vote leaves. */
    String votedFor;

    Role role = Role.FOLLOWER;
    /** The leader of currentTerm as far as this node knows, or null. Invariant: role == LEADER iff leaderId == id. */
    String leaderId;

    /** Counts towards an election (followers, candidates) or CheckQuorum (leaders). */
    final Timeout electionTimeout;
    /** Leaders only: counts towards the next heartbeat. */
    final Timeout heartbeatTimeout;
    /** Ticks since this node was created: the lease's clock (thesis §6.4.1). */
    long ticks;

    /** Exists only while leader: per-follower progress and pending reads. */
    LeaderState leader;
    /** Exists only while candidate or pre-candidate: the votes received. */
    Election.Tally tally;

    final Election election;
    final Replication replication;
    final ReadIndex reads;
    final Snapshots snapshots;
    final Membership membership;

    /** The leadership transfer this node started and that has not ended, or null (thesis §3.10). */
    LeadershipTransfer transfer;
    final List<LeadershipTransfer.Outcome> transferOutcomes = new ArrayList<>();
    /** The latest configuration as last reported in a Ready, to notice a change. */
    private Configuration reportedConfiguration;
    private long reportedConfigurationIndex = -1;

    // Outputs collected until the next ready().
    private boolean termAndVoteChanged;
    private boolean softStateChanged = true;
    private final List<RaftMessage> messages = new ArrayList<>();
    private final List<RaftMessage> messagesAfterPersist = new ArrayList<>();
    final List<ReadState> readStates = new ArrayList<>();
    final List<Long> failedReads = new ArrayList<>();
    final List<Ready.SnapshotSend> snapshotSends = new ArrayList<>();
    final List<InstallSnapshot> snapshotChunks = new ArrayList<>();
    /** A snapshot installed since the last ready(), or null. */
    Ready.Installed installed;
    /** Highest index storage may compact to, asked since the last ready(); 0 if none. */
    long compactTo;

    /** Messages refused by {@link MessageValidator}, by reason. Only grows. */
    private final EnumMap<MessageValidator.Reason, Long> rejected = new EnumMap<>(MessageValidator.Reason.class);

    /** PreVote rounds in a row without another role in between; only for the log's rate limit. */
    private long preCandidateAttempts;

    /** Last index of each batch of committed entries handed out and not yet fully applied. */
    private final ArrayDeque<Long> applyBatchesInFlight = new ArrayDeque<>();
    private long appliedIndex;

    /**
     * Builds a node of a cluster with fixed voters from its durable state. The voters are the
     * configuration at index 0; configuration entries in the log replace it.
     *
     * @param id          this node's id
     * @param voters      every voting member of the cluster
     * @param config      timeouts and limits
     * @param storage     the log as it is on disk; the core only reads it
     * @param termAndVote the saved currentTerm and votedFor
     * @param random      the source of election-timeout jitter; seed it for reproducible runs
     */
    public RaftNode(String id, Collection<String> voters, RaftConfig config, LogStorage storage,
                    TermAndVote termAndVote, RandomGenerator random) {
        this(id, voters, config, storage, termAndVote, random, 0, 0);
    }

    /**
     * Builds a node of a cluster with fixed voters from its durable state and the snapshot its
     * state machine starts from; the voters stand for the configuration at the snapshot's index.
     *
     * @param snapshotIndex last included index of that snapshot (0 if none): everything up to it is
     *                      committed and applied. The storage must hold the entry at it, or start
     *                      right after it
     * @param snapshotTerm  its term
     */
    public RaftNode(String id, Collection<String> voters, RaftConfig config, LogStorage storage,
                    TermAndVote termAndVote, RandomGenerator random, long snapshotIndex, long snapshotTerm) {
        this(id, fixedVoters(id, voters), config, storage, termAndVote, random, snapshotIndex, snapshotTerm);
    }

    /**
     * Builds a node from its durable state, the snapshot its state machine starts from and the
     * configuration at that snapshot's index (thesis §4.1); configuration entries after it are read
     * from the log. A node that is not a voter of its latest configuration, or has none
     * ({@link Configuration#EMPTY}: it waits to be added), never campaigns.
     *
     * @param configuration the configuration at {@code snapshotIndex} (at index 0 without a snapshot:
     *                      the cluster's initial members)
     */
    public RaftNode(String id, Configuration configuration, RaftConfig config, LogStorage storage,
                    TermAndVote termAndVote, RandomGenerator random, long snapshotIndex, long snapshotTerm) {
        this.id = Objects.requireNonNull(id, "id");
        this.config = Objects.requireNonNull(config, "config");
        this.random = Objects.requireNonNull(random, "random");
        this.log = new RaftLog(storage, snapshotIndex, snapshotTerm, Objects.requireNonNull(configuration,
                "configuration"));
        this.currentTerm = termAndVote.currentTerm();
        this.votedFor = termAndVote.votedFor();
        this.appliedIndex = log.applyHandedOutIndex();
        this.electionTimeout = new Timeout(randomElectionTimeoutTicks());
        this.heartbeatTimeout = new Timeout(config.heartbeatIntervalTicks());
        this.election = new Election(this);
        this.replication = new Replication(this);
        this.reads = new ReadIndex(this);
        this.snapshots = new Snapshots(this);
        this.membership = new Membership(this);
    }

    private static Configuration fixedVoters(String id, Collection<String> voters) {
        if (!voters.contains(id)) {
            throw new IllegalArgumentException("node " + id + " is not among the voters " + voters);
        }
        return Configuration.ofVoters(List.copyOf(voters));
    }

    // ---------------------------------------------------------------------------------------------
    // Inputs
    // ---------------------------------------------------------------------------------------------

    /** Advances logical time by one tick (config.tickMillis). */
    public void tick() {
        ticks++;
        reads.onTick();
        if (transfer != null) {
            transfer.onTick();
        }
        if (role == Role.LEADER) {
            tickLeader();
        } else {
            electionTimeout.tick();
            if (electionTimeout.fired()) {
                if (membership.canCampaign()) {
                    election.onElectionTimeout();
                } else {
                    // A learner, a removed server or one waiting to be added never campaigns (thesis
                    // §4.2.2); the timer still runs, for inLeaderLease.
                    electionTimeout.reset(randomElectionTimeoutTicks());
                }
            }
        }
    }

    private void tickLeader() {
        heartbeatTimeout.tick();
        if (heartbeatTimeout.fired()) {
            heartbeatTimeout.reset();
            replication.onHeartbeatTimeout();
        }
        electionTimeout.tick();
        if (electionTimeout.fired()) {
            electionTimeout.reset();
            // CheckQuorum (thesis §6.2): a leader that has not heard from a majority within an
            // election timeout may be on the wrong side of a partition; stepping down lets clients
            // find the real leader and stops it from serving reads.
            if (config.checkQuorum() && !leader.quorumActive()) {
                LOG.info("{} stepped down at term {} (no quorum heard within an election timeout)", id, currentTerm);
                becomeFollower(currentTerm, null);
            }
        }
    }

    /**
     * Handles a message from a peer. Stale messages and invalid ones (see {@link MessageValidator};
     * counted in {@link #rejectedMessages()}) are dropped. A message from a server outside this
     * node's configuration is handled (thesis §4.1: a new server hears from a leader it does not
     * know yet; a candidate may use a configuration this node has not seen); a leader drops replies
     * from servers that are not members of its configuration.
     */
    public void step(RaftMessage m) {
        if (!m.to().equals(id) || m.from().equals(id)) {
            LOG.debug("{} dropped {} (not a message between members for this node)", id, m);
            return;
        }
        // Validated before the §5.1 term rule, so a malformed message at a higher term deposes no one.
        MessageValidator.Reason invalid = MessageValidator.check(m);
        if (invalid == null) {
            invalid = MessageValidator.checkTermJump(m.term(), currentTerm);
        }
        if (invalid == null && m instanceof AppendEntries ae && ae.term() >= currentTerm) {
            // Leader Completeness (§5.4): every committed entry is in the log of every leader of a
            // later term, so a current request that disagrees with one comes from a broken or lying
            // member, and is refused before it can raise our term. (It used to be skipped over,
            // the rest grafted onto our log.) A stale leader's request may disagree; it is answered
            // below with our term, so the stale leader steps down.
            invalid = MessageValidator.checkAgainstCommitted(ae, log);
        }
        if (invalid != null) {
            refuse(m, invalid);
            return;
        }
        if (m.term() > currentTerm) {
            if (!onHigherTerm(m)) {
                return;
            }
        } else if (m.term() < currentTerm) {
            onLowerTerm(m);
            return;
        }
        if (m instanceof RequestVote rv) {
            election.handleRequestVote(rv);
        } else if (m instanceof RequestVoteReply r) {
            election.handleRequestVoteReply(r);
        } else if (m instanceof AppendEntries ae) {
            replication.handleAppendEntries(ae);
        } else if (m instanceof AppendEntriesReply r) {
            replication.handleAppendEntriesReply(r);
        } else if (m instanceof Heartbeat hb) {
            replication.handleHeartbeat(hb);
        } else if (m instanceof HeartbeatReply r) {
            replication.handleHeartbeatReply(r);
        } else if (m instanceof ReadIndexRequest r) {
            reads.handleReadIndexRequest(r);
        } else if (m instanceof ReadIndexReply r) {
            reads.handleReadIndexReply(r);
        } else if (m instanceof InstallSnapshot is) {
            snapshots.handleInstallSnapshot(is);
        } else if (m instanceof InstallSnapshotReply r) {
            snapshots.handleReply(r);
        } else if (m instanceof TimeoutNow t) {
            election.handleTimeoutNow(t);
        }
    }

    /**
     * §5.1: "If RPC request or response contains term T > currentTerm: set currentTerm = T, convert
     * to follower." The only place a message raises our term. PreVote traffic is the exception: it
     * asks about a future term without anyone moving to it (thesis §9.6).
     *
     * @return whether to go on handling the message
     */
    private boolean onHigherTerm(RaftMessage m) {
        if (m instanceof RequestVote rv) {
            // A transfer's election was asked for by the leader (thesis §3.10): not a disruption.
            if (election.inLeaderLease() && !rv.transfer()) {
                // A node that hears from a leader ignores elections (thesis §4.2.3): a server that
                // was cut off, or removed, must not depose a leader the others still follow.
                LOG.debug("{} ignored {} at term {} from {} (heard from leader {} within the minimum election timeout)",
                        id, rv.preVote() ? "PreVote" : "RequestVote", rv.term(), rv.from(), leaderId);
                if (rv.preVote()) {
                    send(new RequestVoteReply(id, rv.from(), currentTerm, false, true));
                }
                return false;
            }
            if (rv.preVote()) {
                return true; // answered without changing term
            }
            becomeFollower(m.term(), null);
            return true;
        }
        if (m instanceof RequestVoteReply r && r.preVote() && r.voteGranted()) {
            return true; // a PreVote granted for the term we would campaign in
        }
        boolean fromLeader = m instanceof AppendEntries || m instanceof Heartbeat || m instanceof InstallSnapshot;
        becomeFollower(m.term(), fromLeader ? m.from() : null);
        return true;
    }

    /** A message from an older term is stale; a stale leader is told our term so it steps down. */
    private void onLowerTerm(RaftMessage m) {
        if (m instanceof AppendEntries || m instanceof Heartbeat || m instanceof InstallSnapshot) {
            sendNow(new HeartbeatReply(id, m.from(), currentTerm, 0));
        } else if (m instanceof RequestVote rv && rv.preVote()) {
            sendNow(new RequestVoteReply(id, rv.from(), currentTerm, false, true));
        } else {
            LOG.debug("{} dropped stale {} (term {} < {})", id, m.getClass().getSimpleName(), m.term(), currentTerm);
        }
    }

    /**
     * Drops a message that failed a {@link MessageValidator} check, and counts it. No correct member
     * sends one, so each reason is logged at WARN the first time and then at each power of two
     * (a deterministic rate limit: the core has no clock), at debug otherwise.
     */
    void refuse(RaftMessage m, MessageValidator.Reason reason) {
        long count = rejected.merge(reason, 1L, Long::sum);
        if (Long.bitCount(count) == 1) {
            LOG.warn("{} refused {} from {} at term {} ({}; {} so far)", id, m.getClass().getSimpleName(), m.from(),
                    m.term(), reason, count);
        } else {
            LOG.debug("{} refused {} ({}; {} so far)", id, m, reason, count);
        }
    }

    /**
     * Appends a command if this node is leader (Figure 2, Leaders: "If command received from
     * client: append entry to local log").
     *
     * @return the new entry's index (its term is {@link #currentTerm()}), {@link #NOT_LEADER}, or
     *         {@link #TRANSFERRING_LEADERSHIP} while this leader hands leadership over
     */
    public long propose(byte[] command) {
        return propose(EntryType.COMMAND, command);
    }

    /**
     * Appends a client command of {@code type} ({@link EntryType#COMMAND} or
     * {@link EntryType#SESSION_COMMAND}), or a session registration
     * ({@link EntryType#REGISTER_SESSION}), as {@link #propose(byte[])} does.
     */
    public long propose(EntryType type, byte[] command) {
        if (type != EntryType.COMMAND && type != EntryType.SESSION_COMMAND && type != EntryType.REGISTER_SESSION) {
            throw new IllegalArgumentException("a client may propose commands only, not " + type);
        }
        if (role != Role.LEADER) {
            return NOT_LEADER;
        }
        if (transfer != null) {
            return TRANSFERRING_LEADERSHIP;
        }
        long index = log.lastIndex() + 1;
        log.append(new Entry(index, currentTerm, type, command));
        replication.entriesAppended();
        return index;
    }

    /**
     * Asks to change the configuration to {@code members} (thesis §4.3): voters and learners, with
     * their addresses. Accepted only on a leader that has committed an entry of its term, when no
     * other change is in flight and the latest configuration is at {@code expectedIndex}; a new
     * voter must be a learner that has caught up. See {@link Membership} for the rules.
     *
     * @param expectedIndex the index of the configuration the caller read ({@link #configurationIndex()}),
     *                      so that of two racing changes the second is refused
     * @param members       the whole configuration wanted (C<sub>new</sub>)
     * @return accepted with the index of the first entry of the change, or refused with a reason;
     *         the change is done when a Ready's {@link Ready.MembershipNews#changesCompleted()}
     *         names that index
     */
    public Membership.ChangeResult proposeConfigurationChange(long expectedIndex, List<Configuration.Member> members) {
        return membership.propose(expectedIndex, members);
    }

    /**
     * Hands leadership to {@code target}, a voter (thesis §3.10). Proposals are refused meanwhile;
     * the transfer ends as a {@link LeadershipTransfer.Outcome} in a later Ready.
     */
    public LeadershipTransfer.TransferRequest transferLeadership(String target) {
        return LeadershipTransfer.start(this, target);
    }

    /**
     * Starts a linearizable read (thesis §6.4). A leader confirms it still leads with a round of
     * heartbeats; a follower asks the leader. Either way the read ends as a {@link ReadState} in a
     * later {@link Ready}, or in {@link Ready#failedReads()}.
     *
     * @param context the driver's identifier for this read, unique among its reads in flight
     */
    public ReadAccepted readIndex(long context) {
        return reads.readIndex(context, false);
    }

    /**
     * Starts a lease-based read (thesis §6.4.1; needs {@code RaftConfig.leaseReads}). A leader whose
     * lease holds answers at once, in the next {@link Ready}, with its commit index; otherwise, and on
     * a follower, this is {@link #readIndex}. The driver must have ticked for all the time that
     * passed (at most one tick behind the clock), or the lease is measured on a stale count: call
     * {@link #readIndex} instead when it has not.
     */
    public ReadAccepted leaseRead(long context) {
        return reads.readIndex(context, config.leaseReads());
    }

    /**
     * The driver skipped ticks (its thread stalled longer than it catches up for): this node's time
     * ran slower than the others'. A leader stops trusting rounds sent before now for its lease.
     */
    public void ticksSkipped() {
        if (role == Role.LEADER) {
            leader.dropLease();
        }
    }

    /** Reads this node answered under its lease as leader, without a round of their own. */
    public long leaseReadCount() {
        return reads.leaseReads;
    }

    /**
     * The driver reports that entries up to {@code index}, whose entry has {@code term}, are durable.
     * A stale report (the entry was since replaced) is ignored.
     */
    public void onPersisted(long index, long term) {
        log.persistedTo(index, term);
        if (role == Role.LEADER) {
            replication.maybeCommit(); // the leader's own copy now counts (thesis §10.2.1)
        }
    }

    /**
     * The driver reports that a snapshot of this node's own state machine, taken at {@code index}
     * (whose entry has {@code term}), is durable: it may be sent to followers from now on.
     */
    public void onSnapshotTaken(long index, long term) {
        log.snapshotTaken(index, term);
    }

    /**
     * The driver may delete log entries up to {@code upTo} (it keeps a window after the newest
     * snapshot so a briefly slow follower catches up from the log). Never compacts past the newest
     * snapshot or what is durable here; the compaction goes out in {@link Ready#snapshots()}.
     */
    public void compactLog(long upTo) {
        snapshots.compact(upTo);
    }

    /**
     * The driver has received a whole snapshot from {@code leader} and checked and stored it
     * durably (Figure 13 rules 2 to 5). The core installs it (rules 6 to 8): see
     * {@link Ready.SnapshotWork#installed()}.
     */
    public void onSnapshotReceived(long index, long term, String leader) {
        snapshots.onReceived(index, term, leader, null);
    }

    /**
     * As {@link #onSnapshotReceived(long, long, String)}, for a snapshot that carries the
     * configuration at its index: installing it makes that the configuration in force there.
     */
    public void onSnapshotReceived(long index, long term, String leader, Configuration configuration) {
        snapshots.onReceived(index, term, leader, Objects.requireNonNull(configuration, "configuration"));
    }

    /** The driver reports that the state machine has applied every entry up to {@code index}. */
    public void onApplied(long index) {
        if (index > appliedIndex) {
            appliedIndex = index;
        }
        while (!applyBatchesInFlight.isEmpty() && applyBatchesInFlight.peekFirst() <= appliedIndex) {
            applyBatchesInFlight.pollFirst();
        }
    }

    /** Collects the outputs produced since the last call. Never null; may be {@link Ready#isEmpty()}. */
    public Ready ready() {
        if (transfer != null) {
            transfer.maybeSendTimeoutNow();
        }
        if (role == Role.LEADER) {
            replication.flush();
            reads.flush();
        }
        Ready.MembershipNews membershipNews = takeMembershipNews();
        Ready.SoftState soft = null;
        if (softStateChanged) {
            soft = new Ready.SoftState(role, currentTerm, leaderId);
            softStateChanged = false;
        }
        TermAndVote hard = null;
        if (termAndVoteChanged) {
            hard = new TermAndVote(currentTerm, votedFor);
            termAndVoteChanged = false;
        }
        List<Entry> toPersist = log.takeUnpersisted();
        List<Entry> committed = Collections.emptyList();
        // At most two batches wait to be applied, so a slow state machine bounds memory instead of growing it.
        if (applyBatchesInFlight.size() < 2) {
            committed = log.takeCommittedToApply(config.maxApplyBatchBytes());
            if (!committed.isEmpty()) {
                applyBatchesInFlight.addLast(committed.get(committed.size() - 1).index());
            }
        }
        Ready.SnapshotWork snapshotWork = null;
        if (!snapshotSends.isEmpty() || !snapshotChunks.isEmpty() || installed != null || compactTo > 0) {
            snapshotWork = new Ready.SnapshotWork(drain(snapshotSends), drain(snapshotChunks), installed, compactTo);
            installed = null;
            compactTo = 0;
        }
        if (soft == null && hard == null && toPersist.isEmpty() && committed.isEmpty() && messages.isEmpty()
                && messagesAfterPersist.isEmpty() && readStates.isEmpty() && failedReads.isEmpty()
                && snapshotWork == null && membershipNews == null) {
            return Ready.EMPTY;
        }
        return new Ready(soft, hard, toPersist, drain(messages), drain(messagesAfterPersist), committed,
                drain(readStates), drain(failedReads), snapshotWork, membershipNews);
    }

    private Ready.MembershipNews takeMembershipNews() {
        Configuration latest = membership.current();
        long latestIndex = log.configurations().latestIndex();
        Ready.ConfigurationState changed = null;
        if (latest != reportedConfiguration || latestIndex != reportedConfigurationIndex) {
            reportedConfiguration = latest;
            reportedConfigurationIndex = latestIndex;
            changed = new Ready.ConfigurationState(latestIndex, latest);
        }
        if (changed == null && membership.completed.isEmpty() && transferOutcomes.isEmpty()) {
            return null;
        }
        return new Ready.MembershipNews(changed, drain(membership.completed), drain(transferOutcomes));
    }

    private static <T> List<T> drain(List<T> list) {
        if (list.isEmpty()) {
            return Collections.emptyList();
        }
        List<T> out = new ArrayList<>(list);
        list.clear();
        return out;
    }

    // ---------------------------------------------------------------------------------------------
    // Role changes: the only places role, leaderId and the role-specific state change.
    // ---------------------------------------------------------------------------------------------

    void becomeFollower(long term, String newLeader) {
        Role was = role;
        String leaderWas = leaderId;
        long termWas = currentTerm;
        if (term > currentTerm) {
            currentTerm = term;
            votedFor = null;
            termAndVoteChanged = true;
        }
        if (leader != null) {
            reads.failAllAsLeader();
            leader = null;
        }
        role = Role.FOLLOWER;
        tally = null;
        if (newLeader == null || !newLeader.equals(leaderWas) || term != termWas) {
            replication.leaderCommitSeen = 0; // another leader's (or none's) word
        }
        leaderId = newLeader;
        if (transfer != null && newLeader != null) {
            transfer.onLeader(newLeader);
        }
        electionTimeout.reset(randomElectionTimeoutTicks());
        if (!Objects.equals(leaderWas, newLeader)) {
            reads.failForwarded();
        }
        if (newLeader != null) {
            preCandidateAttempts = 0;
        }
        if (was != Role.FOLLOWER || !Objects.equals(leaderWas, newLeader)) {
            softStateChanged = true;
            LOG.info("{} became follower at term {}{}", id, currentTerm, newLeader == null ? "" : " (leader " + newLeader + ")");
        }
    }

    void becomePreCandidate() {
        if (role == Role.LEADER) {
            throw new IllegalStateException(id + ": a leader cannot become pre-candidate");
        }
        role = Role.PRE_CANDIDATE;
        leaderId = null;
        tally = new Election.Tally(membership.current());
        electionTimeout.reset(randomElectionTimeoutTicks());
        reads.failForwarded();
        softStateChanged = true;
        // A node cut off from the others tries again every election timeout, for ever. Logging
        // each attempt buried everything else (five lines a second); the first, then one in 50
        // with the count, says the same. Counted in attempts, not time: the core has no clock.
        preCandidateAttempts++;
        if (preCandidateAttempts == 1 || preCandidateAttempts % 50 == 0) {
            LOG.info("{} became pre-candidate at term {}{}", id, currentTerm,
                    preCandidateAttempts == 1 ? "" : " (attempt " + preCandidateAttempts + " without a leader)");
        }
    }

    void becomeCandidate() {
        if (role == Role.LEADER) {
            throw new IllegalStateException(id + ": a leader cannot become candidate");
        }
        preCandidateAttempts = 0;
        // §5.2: "increment currentTerm, vote for self".
        currentTerm++;
        votedFor = id;
        termAndVoteChanged = true;
        role = Role.CANDIDATE;
        leaderId = null;
        tally = new Election.Tally(membership.current());
        electionTimeout.reset(randomElectionTimeoutTicks());
        reads.failForwarded();
        softStateChanged = true;
        LOG.info("{} became candidate at term {}", id, currentTerm);
    }

    void becomeLeader() {
        if (role != Role.CANDIDATE) {
            throw new IllegalStateException(id + ": only a candidate can become leader, was " + role);
        }
        role = Role.LEADER;
        leaderId = id;
        tally = null;
        leader = new LeaderState(this, log.lastIndex() + 1);
        membership.onBecameLeader();
        if (transfer != null) {
            transfer.onLeader(id); // a transfer this node started, and it won the election after all
        }
        heartbeatTimeout.reset();
        electionTimeout.reset(config.electionTimeoutMinTicks());
        softStateChanged = true;
        LOG.info("{} became leader at term {}", id, currentTerm);
        // §8: a new leader commits an entry of its own term at once, which commits everything
        // before it (Figure 8) and lets it serve reads (§6.4).
        log.append(Entry.noOp(log.lastIndex() + 1, currentTerm));
        replication.entriesAppended();
    }

    void markTermAndVoteChanged() {
        termAndVoteChanged = true;
    }

    int randomElectionTimeoutTicks() {
        int min = config.electionTimeoutMinTicks();
        int max = config.electionTimeoutMaxTicks();
        return min + random.nextInt(max - min);
    }

    /**
     * Queues a message. A leader's messages leave at once; everything else waits until what was
     * persisted before it is durable (see {@link Ready}).
     */
    void send(RaftMessage m) {
        if (role == Role.LEADER) {
            messages.add(m);
        } else {
            messagesAfterPersist.add(m);
        }
    }

    /**
     * Queues a message that promises nothing a crash could take back (a heartbeat reply, a
     * ReadIndex request, a stale sender told our term), so it leaves at once whatever the role:
     * liveness signals must never wait on an fsync (docs/ARCHITECTURE.md, "The order the driver keeps"), or a slow disk on a follower would
     * look like a dead follower to CheckQuorum and ReadIndex.
     */
    void sendNow(RaftMessage m) {
        messages.add(m);
    }

    // ---------------------------------------------------------------------------------------------
    // Observation (drivers, status, tests)
    // ---------------------------------------------------------------------------------------------

    public String id() {
        return id;
    }

    public Role role() {
        return role;
    }

    public long currentTerm() {
        return currentTerm;
    }

    public String votedFor() {
        return votedFor;
    }

    /** The leader this node knows for currentTerm, or null. */
    public String leaderId() {
        return leaderId;
    }

    public long commitIndex() {
        return log.commitIndex();
    }

    public long lastIndex() {
        return log.lastIndex();
    }

    /** The first index the log still holds; entries before it are in the snapshot. */
    public long firstIndex() {
        return log.firstIndex();
    }

    /** Last included index of the newest snapshot this node holds (0 if none). */
    public long snapshotIndex() {
        return log.snapshotIndex();
    }

    public long lastTerm() {
        return log.lastTerm();
    }

    /** Last index the driver has reported durable. */
    public long durableIndex() {
        return log.durableIndex();
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    /**
     * The highest commit index this node knows the leader has: its own as leader; as follower, the
     * largest {@code leaderCommit} the current leader sent in AppendEntries this term (uncapped,
     * unlike this node's own commit index, which stops at what it holds). For bounded stale reads.
     */
    public long knownLeaderCommit() {
        return role == Role.LEADER ? log.commitIndex() : Math.max(log.commitIndex(), replication.leaderCommitSeen);
    }

    /**
     * Whether this node leads, or follows a leader it heard from within the minimum election
     * timeout (so it knows roughly how far behind it is). For bounded stale reads.
     */
    public boolean leaderHeardRecently() {
        return role == Role.LEADER
                || (role == Role.FOLLOWER && leaderId != null
                        && electionTimeout.elapsedTicks() < config.electionTimeoutMinTicks());
    }

    /** The voters of this node's latest configuration (both parts while joint), in order. */
    public List<String> voters() {
        return List.copyOf(membership.current().allVoters());
    }

    /** The configuration this node uses: the latest in its log, committed or not (thesis §4.1). */
    public Configuration configuration() {
        return membership.current();
    }

    /**
     * The index of the entry holding {@link #configuration()} (the snapshot's index, or 0, when the
     * log holds no configuration entry after it): what {@link #proposeConfigurationChange} expects.
     */
    public long configurationIndex() {
        return log.configurations().latestIndex();
    }

    /**
     * The configuration in force at {@code index}, which must be at or after this node's snapshot
     * (what a snapshot taken at {@code index} carries).
     */
    public Configuration configurationAt(long index) {
        if (index < log.configurations().base().index()) {
            throw new IllegalArgumentException("configuration at " + index + " is before this node's snapshot at "
                    + log.configurations().base().index());
        }
        return log.configurations().at(index).configuration();
    }

    /** The leadership transfer this node has started and not finished, or null. */
    public String transferTarget() {
        return transfer == null ? null : transfer.target();
    }

    /** Term of the entry at {@code index}, or -1 if this node does not hold it. */
    public long termAt(long index) {
        return log.term(index);
    }

    /** Entries in [from, to) of this node's log (for checkers and tests). */
    public List<Entry> entries(long from, long to) {
        return log.entries(from, to, Long.MAX_VALUE, Integer.MAX_VALUE);
    }

    /**
     * How many incoming messages this node refused as invalid, by reason ({@link MessageValidator}).
     * Counts only grow; reasons never seen are absent. A copy: later refusals do not show in it.
     */
    public Map<MessageValidator.Reason, Long> rejectedMessages() {
        return Collections.unmodifiableMap(new EnumMap<>(rejected));
    }

    /** The leader's view of a follower's matchIndex, or -1 when not leader (for tests). */
    public long matchIndexOf(String peer) {
        Progress pr = leader == null ? null : leader.progress(peer);
        return pr == null ? -1 : pr.matchIndex;
    }

    /**
     * Checks every invariant the core states; throws {@link IllegalStateException} naming the broken
     * one. Tests call it after every input; a broken invariant means the node must stop.
     */
    public void checkInvariants() {
        log.checkInvariants();
        if ((role == Role.LEADER) != id.equals(leaderId)) {
            throw new IllegalStateException(id + ": role " + role + " but leaderId " + leaderId);
        }
        if ((role == Role.LEADER || role == Role.CANDIDATE) && !id.equals(votedFor)) {
            throw new IllegalStateException(id + ": " + role + " at term " + currentTerm + " but votedFor " + votedFor);
        }
        if ((role == Role.LEADER) != (leader != null)) {
            throw new IllegalStateException(id + ": role " + role + " with leader state " + leader);
        }
        if (leader != null) {
            leader.checkInvariants();
        }
        membership.checkInvariants();
        if (transfer != null && role != Role.LEADER && leaderId != null) {
            throw new IllegalStateException(id + ": transfer " + transfer + " outlived hearing of leader " + leaderId);
        }
    }

    /** A one-line description including, on a leader, each follower's progress (for failure reports). */
    public String describe() {
        return toString() + (leader == null ? "" : " " + leader);
    }

    @Override
    public String toString() {
        return id + "{" + role + " term=" + currentTerm + " last=" + log.lastIndex() + " commit=" + log.commitIndex() + "}";
    }
}
