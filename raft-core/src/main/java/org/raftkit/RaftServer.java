package org.raftkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;

import org.raftkit.core.Configuration;
import org.raftkit.message.Entry;
import org.raftkit.metrics.RaftMetrics;
import org.raftkit.memory.MemoryIdentityStore;
import org.raftkit.runtime.ClusterStart;
import org.raftkit.runtime.RaftRuntime;
import org.raftkit.runtime.ThreadScheduler;
import org.raftkit.spi.IdentityStore;
import org.raftkit.spi.LogStorage;
import org.raftkit.spi.Scheduler;
import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.TermVoteStore;
import org.raftkit.spi.Transport;

/**
 * One Raft node, embedded in the application: the front door of RaftKit.
 *
 * <pre>{@code
 * RaftServer server = RaftServer.builder()
 *     .id("n1").peers("n1", "n2", "n3")
 *     .stateMachine(new MyMachine())
 *     .logStorage(storage).termVoteStore(termVoteStore).transport(transport)
 *     .config(RaftConfig.defaults())
 *     .build();
 * server.start();
 * byte[] result = server.submit(command).get();
 * }</pre>
 *
 * <h2>Calls</h2>
 * Every call returns at once with a future; it never blocks the caller. The future completes
 * normally with the state machine's answer, or exceptionally with a {@link RaftException}:
 * <ul>
 *   <li>{@link NotLeaderException}: no leader could be reached; nothing was applied; retry.</li>
 *   <li>{@link ServerBusyException}: too many calls pending here ({@link RaftConfig#maxPendingRequests()},
 *       {@link RaftConfig#maxPendingBytes()}); nothing was applied; retry later.</li>
 *   <li>{@link UnknownOutcomeException}: no answer within {@link RaftConfig#requestTimeoutMillis()};
 *       a write may or may not be applied ({@link ReadTimeoutException} for reads).</li>
 *   <li>{@link ServerClosedException}: this server is closed or failed.</li>
 *   <li>{@link StateMachineException}: the state machine threw.</li>
 * </ul>
 * Futures complete on RaftKit's threads (usually the apply thread): a dependent stage that blocks
 * or takes long must use the {@code …Async} methods, or it delays this node's state machine.
 *
 * <h2>Threads and failure</h2>
 * Three threads per node: {@code raftkit-<id>-raft} runs the protocol, {@code raftkit-<id>-storage}
 * writes and syncs the log, {@code raftkit-<id>-apply} runs the {@link StateMachine}. They are not
 * daemon threads: close the server to let the JVM exit. A storage
 * error, a state machine exception while applying, or a broken internal invariant stops the node
 * (fail-stop): pending calls fail with {@link ServerClosedException}, {@link #status()} says
 * {@link RaftStatus.State#FAILED} and the listener's {@link RaftListener#onFailure} is called.
 *
 * <h2>Restart and snapshots</h2>
 * A server built on existing storage keeps its log, term and vote. Its state machine starts
 * empty, is restored from the newest snapshot if it has a {@link Builder#snapshotStore}, and the
 * log after that snapshot is applied again once the node learns the commit index from the leader.
 * With a snapshot store the node takes snapshots ({@link SnapshotConfig}: every so many entries or
 * bytes, or after an interval; or {@link #snapshot()}), compacts its log behind them, and sends a
 * snapshot to a follower that needs entries it has compacted (InstallSnapshot).
 *
 * <h2>Ownership</h2>
 * The server owns the storage, term/vote store and transport it is built with, and closes them in
 * {@link #close()}.
 */
public final class RaftServer implements AutoCloseable {

    private final RaftRuntime runtime;

    private RaftServer(RaftRuntime runtime) {
        this.runtime = runtime;
    }

    /**
     * A builder; {@code id}, one of {@code peers}, {@code bootstrap} and {@code join},
     * {@code stateMachine}, {@code logStorage}, {@code termVoteStore} and {@code transport} are required.
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the transport and the node's threads. The node joins the cluster as a follower.
     *
     * @throws IllegalStateException if already started or closed
     */
    public void start() {
        runtime.start();
    }

    /**
     * Replicates {@code command} and applies it on every node; completes with the result of
     * {@link StateMachine#apply} on the leader. May be called on any node: a follower forwards it
     * to the leader. While an election is under way the call waits briefly for a leader (at most
     * two maximum election timeouts).
     *
     * @param command the command; handed over, must not be changed afterwards
     * @throws IllegalStateException if the server was not started
     */
    public CompletableFuture<byte[]> submit(byte[] command) {
        return runtime.submit(command);
    }

    /**
     * Registers a new client session in the replicated state (thesis §6.3), for an application
     * that retries its writes across its own restarts; see {@link Session}. Completes once the
     * registration is applied here. May be called on any node, like {@link #submit}.
     *
     * @throws IllegalStateException if the server was not started
     */
    public CompletableFuture<Session> openSession() {
        return runtime.registerSession().thenApply(id -> new Session(id, runtime));
    }

    /**
     * A handle on a session opened before (by this process or an earlier one, on any node), to go
     * on sending its writes. Nothing is checked here: a session the cluster does not know fails its
     * writes with {@link SessionExpiredException}.
     *
     * @param id the session's {@link Session#id()}
     * @throws IllegalArgumentException if {@code id} is below 1 (no session has such an id)
     */
    public Session session(long id) {
        if (id < 1) {
            throw new IllegalArgumentException("session ids are log indexes, from 1; was " + id);
        }
        return new Session(id, runtime);
    }

    /**
     * A linearizable read: the query sees every write acknowledged before this call began
     * (ReadIndex, thesis §6.4). On a follower the leader confirms the read index and the query runs
     * locally once this node has applied up to it.
     *
     * @param query handed to {@link StateMachine#query}
     * @throws IllegalStateException if the server was not started
     */
    public CompletableFuture<byte[]> read(byte[] query) {
        return runtime.read(query);
    }

    /**
     * A linearizable read that trusts the leader's lease (thesis §6.4.1) instead of confirming
     * leadership with a round of heartbeats: on the leader, while a majority acknowledged a heartbeat
     * sent within the lease ({@code RaftConfig.leaseTicks()}, a little under the minimum election
     * timeout), it is answered from the leader's commit index at once; on a follower, the leader
     * answers the follower's request for a read index the same way, and the follower answers once
     * it has applied up to it. Otherwise (no lease yet, a leadership transfer started this term,
     * the configuration just changed) it is a {@link #read}.
     *
     * <p>What it assumes, unlike {@link #read}: that no node's clock runs faster than another's by
     * more than {@code RaftConfig.clockDriftBound()} over an election timeout, and that every node
     * runs with {@code RaftConfig.leaseReads()} on (they refuse votes while they hear from a leader,
     * and for the minimum election timeout after they start). A leader whose Raft thread stalls
     * longer than it can catch up drops its lease; a stall between the lease check and the read of
     * the commit index (nanoseconds apart) is not covered.
     *
     * @param query handed to {@link StateMachine#query}
     * @throws IllegalStateException if the server was not started, or was built without
     *                               {@code RaftConfig.withLeaseReads}
     */
    public CompletableFuture<byte[]> leaseRead(byte[] query) {
        return runtime.leaseRead(query);
    }

    /**
     * A read of this node's current state with no consistency guarantee: it may miss acknowledged
     * writes (this node may lag, or be a deposed leader). Cheap, and works without a leader.
     *
     * @param query handed to {@link StateMachine#query}
     * @throws IllegalStateException if the server was not started
     */
    public CompletableFuture<byte[]> staleRead(byte[] query) {
        return runtime.staleRead(query, -1);
    }

    /**
     * A stale read with a bound on how far behind this node may be (thesis §6.4's weaker reads,
     * with a limit): answered from this node's state if it has applied everything up to
     * {@code maxLagEntries} entries before the leader's commit index as this node last heard it, and
     * it heard from a leader within the minimum election timeout (a leader answers from its own
     * commit index). Otherwise it fails with {@link TooFarBehindException} and reads nothing. The
     * bound is on what this node knows: a leader's commit index races ahead of what its followers
     * heard by up to a heartbeat interval of writes, so this is no substitute for {@link #read}.
     *
     * @param query         handed to {@link StateMachine#query}
     * @param maxLagEntries how many committed entries this node may not have applied yet (0: none)
     * @throws IllegalArgumentException if {@code maxLagEntries} is negative
     * @throws IllegalStateException    if the server was not started
     */
    public CompletableFuture<byte[]> staleRead(byte[] query, long maxLagEntries) {
        if (maxLagEntries < 0) {
            throw new IllegalArgumentException("maxLagEntries must be >= 0, was " + maxLagEntries);
        }
        return runtime.staleRead(query, maxLagEntries);
    }

    /**
     * Takes a snapshot of the state machine now (or joins the one under way), then compacts the
     * log behind it. Completes with the snapshot's last included index once it is durable; fails
     * if this node takes no snapshots (no {@link Builder#snapshotStore}, or a state machine
     * without {@link StateMachine#snapshot()}) or the snapshot could not be written.
     */
    public CompletableFuture<Long> snapshot() {
        return runtime.snapshot();
    }

    // ---------------------------------------------------------------------------------------------
    // Membership (thesis chapter 4) and leadership transfer (thesis §3.10)
    // ---------------------------------------------------------------------------------------------

    /**
     * The configuration this node uses: the latest in its log, committed or not (thesis §4.1),
     * with each member's id, Raft address and kind, the index of the entry holding it, and whether
     * a change is half done (joint). {@link ClusterConfiguration#EMPTY} on a node that waits to be
     * added. Any thread; never blocks.
     */
    public ClusterConfiguration configuration() {
        return runtime.configuration();
    }

    /**
     * Changes the configuration to {@code members} (voters and learners with their addresses) in
     * one call, by joint consensus (thesis §4.3) when voters change: C<sub>old,new</sub> is
     * appended, then C<sub>new</sub> once that commits. Completes with C<sub>new</sub> once it is
     * committed. One change at a time; a new voter must be a learner that has caught up
     * ({@link RaftConfig#maxPromotionLagEntries()}).
     *
     * <p>Served by the leader only: on another node the future fails at once with
     * {@link NotLeaderException} naming the leader (the call is not forwarded; retry there). Other
     * failures: {@link MembershipChangeException} (refused, nothing appended; its reason says
     * whether a retry may succeed); {@link UnknownOutcomeException} if the leader lost leadership
     * or the change did not commit within {@link RaftConfig#requestTimeoutMillis()} (it may still
     * complete: read {@link #configuration()}); {@link ServerClosedException}.
     *
     * @param expectedIndex {@link ClusterConfiguration#index()} of the configuration the caller read;
     *                      if another change came since, the call fails with
     *                      {@link MembershipChangeException.Reason#CONFIGURATION_CHANGED}
     * @param members       the whole configuration wanted
     * @throws IllegalStateException if the server was not started
     */
    public CompletableFuture<ClusterConfiguration> changeMembership(long expectedIndex, List<Configuration.Member> members) {
        return runtime.changeMembership(expectedIndex, List.copyOf(members));
    }

    /**
     * Adds a server as a learner (thesis §4.2.1): it receives the log and snapshots but does not
     * vote, so adding it never stalls commitment while it catches up. Start that server first with
     * {@link Builder#join()}. As {@link #changeMembership}, and fails with
     * {@link MembershipChangeException.Reason#ALREADY_MEMBER} if the id is a member.
     *
     * @param address its Raft address, as the transport understands it (for {@code NettyTransport},
     *                {@code host:port})
     */
    public CompletableFuture<ClusterConfiguration> addLearner(String id, String address) {
        return runtime.addLearner(Objects.requireNonNull(id, "id"), Objects.requireNonNull(address, "address"));
    }

    /**
     * Makes a learner a voter, by joint consensus. As {@link #changeMembership}; fails with
     * {@link MembershipChangeException.Reason#NOT_A_MEMBER} or {@link MembershipChangeException.Reason#NOT_A_LEARNER},
     * and with {@link MembershipChangeException.Reason#LEARNER_NOT_CAUGHT_UP} until the learner is
     * within {@link RaftConfig#maxPromotionLagEntries()} of the leader (retry then).
     */
    public CompletableFuture<ClusterConfiguration> promote(String id) {
        return runtime.promote(Objects.requireNonNull(id, "id"));
    }

    /**
     * Removes a member, voter or learner. As {@link #changeMembership}; fails with
     * {@link MembershipChangeException.Reason#NOT_A_MEMBER}, or {@link MembershipChangeException.Reason#LAST_VOTER}.
     * Removing the leader itself is allowed: it leads until the change commits, then steps down
     * and the others elect a leader (thesis §4.2.2); transfer leadership first to avoid that election.
     */
    public CompletableFuture<ClusterConfiguration> removeMember(String id) {
        return runtime.removeMember(Objects.requireNonNull(id, "id"));
    }

    /**
     * Replaces member {@code oldId} (dead or alive) by a new server, without ever lowering the
     * number of voters that must agree: adds {@code newId} as a learner (skipped if it is one
     * already), waits until it has caught up, then makes it a voter and removes {@code oldId} in one
     * joint change (thesis §4.3). Completes with the final configuration. The catch-up waits at
     * most {@link RaftConfig#requestTimeoutMillis()}, then fails with
     * {@link MembershipChangeException.Reason#LEARNER_NOT_CAUGHT_UP}, leaving the learner in place
     * (call again, or {@link #promote} and {@link #removeMember} later). Fails with
     * {@link MembershipChangeException.Reason#NOT_A_MEMBER}, changing nothing more, if {@code oldId}
     * or the new learner leaves the configuration (another call removed it) before the last step.
     * Other failures as {@link #changeMembership}.
     */
    public CompletableFuture<ClusterConfiguration> replaceMember(String oldId, String newId, String newAddress) {
        return runtime.replaceMember(Objects.requireNonNull(oldId, "oldId"), Objects.requireNonNull(newId, "newId"),
                Objects.requireNonNull(newAddress, "newAddress"));
    }

    /**
     * Hands leadership to voter {@code targetId} (thesis §3.10): this leader stops appending
     * (writes wait, and go to the new leader), brings the target up to date and tells it to start
     * an election at once. Completes with the new leader's id (at once if {@code targetId} leads
     * already). Fails with {@link LeadershipTransferException} if the target is not a voter, did not
     * win within an election timeout (this node then takes writes again), or another server won;
     * with {@link NotLeaderException} on a node that is not the leader.
     */
    public CompletableFuture<String> transferLeadership(String targetId) {
        return runtime.transferLeadership(Objects.requireNonNull(targetId, "targetId"));
    }

    /**
     * As {@link #transferLeadership(String)}, to the voter whose log is most up to date (the one
     * that can win soonest): what {@link #close()} does on a leader, for an application that must
     * hand over before it stops serving its own clients. Fails with {@link NotLeaderException} on
     * a node that is not the leader, and with {@link LeadershipTransferException} if this leader
     * is the only voter.
     */
    public CompletableFuture<String> transferLeadership() {
        return runtime.transferLeadership(null);
    }

    /** This node's role, term, leader, indexes, members and lifecycle state. Never blocks. */
    public RaftStatus status() {
        return runtime.status();
    }

    /** This node's id. */
    public String id() {
        return runtime.id();
    }

    /**
     * Stops the node: every pending call fails with {@link ServerClosedException}, the threads end
     * and are joined, the transport and storage are closed. Idempotent. Must not be called on one
     * of the node's own threads (a listener, a future's dependent stage).
     */
    @Override
    public void close() {
        runtime.close();
    }

    @Override
    public String toString() {
        return "RaftServer{" + runtime.id() + "}";
    }

    /**
     * The cluster id {@link Builder#bootstrap} records for a cluster named {@code name} with these
     * initial members: {@code name}, a dash and 16 hex digits of a hash of the members. Every
     * initial member computes the same; give it to {@link Builder#clusterId} and to the transport.
     */
    public static String clusterIdFor(String name, Configuration initialMembers) {
        return ClusterStart.clusterIdFor(name, initialMembers);
    }

    /** The runtime behind this server; for the simulator's checks (tests in this package). */
    RaftRuntime runtime() {
        return runtime;
    }

    /** Assembles a {@link RaftServer}. Not thread-safe; use once. */
    public static final class Builder {

        private String id;
        private final List<String> peers = new ArrayList<>();
        private Configuration bootstrap;
        private boolean join;
        private String clusterId;
        private IdentityStore identityStore;
        private StateMachine stateMachine;
        private LogStorage logStorage;
        private TermVoteStore termVoteStore;
        private Transport transport;
        private RaftConfig config = RaftConfig.defaults();
        private Long seed;
        private RaftListener listener = new RaftListener() {
        };
        private Scheduler scheduler = ThreadScheduler.INSTANCE;
        private SnapshotStore snapshotStore;
        private SnapshotConfig snapshotConfig = SnapshotConfig.defaults();
        private RaftMetrics metrics = RaftMetrics.NONE;

        private Builder() {
        }

        /** This node's id; must be one of {@link #peers}. */
        public Builder id(String id) {
            this.id = Objects.requireNonNull(id, "id");
            return this;
        }

        /**
         * Every voting member of a cluster with a fixed start, by id alone, including this node; how
         * to reach them is the transport's business. Membership changes work on such a cluster
         * too: members added later carry their addresses in the configuration. Excludes
         * {@link #bootstrap} and {@link #join()}.
         */
        public Builder peers(Collection<String> ids) {
            peers.clear();
            peers.addAll(ids);
            return this;
        }

        /** Every voting member of the cluster, including this node. */
        public Builder peers(String... ids) {
            return peers(Arrays.asList(ids));
        }

        /**
         * Bootstraps a new cluster from its initial members (with their Raft addresses, which the
         * transport learns through {@link Transport#updateMembers}), if this node's storage is
         * empty: the configuration becomes the log's first entry, the same on every initial member,
         * and {@link #clusterId} is recorded in the {@link #identityStore}. On storage that holds
         * data, the log's configuration wins and this only says how the node was first started.
         * Give every initial member the same members; this node must be one of the voters. Excludes
         * {@link #peers} and {@link #join()}.
         *
         * <p>A node whose storage was lost must not bootstrap again (it would vote without its
         * votes): a node whose identity record survived refuses to; start one whose whole data
         * directory was lost with {@link #join()} and replace it ({@link RaftServer#replaceMember}).
         */
        public Builder bootstrap(Configuration initialMembers) {
            this.bootstrap = Objects.requireNonNull(initialMembers, "initialMembers");
            return this;
        }

        /**
         * Starts a node that waits to be added: with empty storage it has no configuration
         * ({@link ClusterConfiguration#EMPTY}), never campaigns or votes, and takes part once a
         * leader adds it ({@link RaftServer#addLearner}); with storage that holds data it goes on
         * from there. Excludes {@link #peers} and {@link #bootstrap}.
         */
        public Builder join() {
            this.join = true;
            return this;
        }

        /**
         * The id of the cluster this node belongs to: recorded in the {@link #identityStore} when
         * the node bootstraps or first joins, and checked at every later start (another id refuses
         * to build). For a cluster bootstrapped with {@link #bootstrap}, every member uses
         * {@link #clusterIdFor}. Pass the same id to the transport (NettyTransport checks it in
         * every connection's handshake). Default: none recorded, none checked.
         */
        public Builder clusterId(String clusterId) {
            this.clusterId = Objects.requireNonNull(clusterId, "clusterId");
            return this;
        }

        /**
         * Where the data's cluster id and node id are recorded ({@code FileIdentityStore} next to
         * the term/vote file); the server closes it. Default: in memory, which checks nothing across
         * restarts.
         */
        public Builder identityStore(IdentityStore identityStore) {
            this.identityStore = Objects.requireNonNull(identityStore, "identityStore");
            return this;
        }

        /** The application's state machine. */
        public Builder stateMachine(StateMachine stateMachine) {
            this.stateMachine = Objects.requireNonNull(stateMachine, "stateMachine");
            return this;
        }

        /** Where the log is kept; the server closes it in {@link RaftServer#close()}. */
        public Builder logStorage(LogStorage logStorage) {
            this.logStorage = Objects.requireNonNull(logStorage, "logStorage");
            return this;
        }

        /** Where term and vote are kept; the server closes it in {@link RaftServer#close()}. */
        public Builder termVoteStore(TermVoteStore termVoteStore) {
            this.termVoteStore = Objects.requireNonNull(termVoteStore, "termVoteStore");
            return this;
        }

        /** The network; the server starts it and closes it in {@link RaftServer#close()}. */
        public Builder transport(Transport transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        /** Timeouts and limits; {@link RaftConfig#defaults()} if not set. */
        public Builder config(RaftConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /** Seeds the election-timeout jitter, for reproducible runs. Default: a random seed, logged at start. */
        public Builder random(long seed) {
            this.seed = seed;
            return this;
        }

        /** Hears about role changes and failure. Default: none. */
        public Builder listener(RaftListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Where snapshots are kept (the server closes it in {@link RaftServer#close()}). With one, and
         * a state machine that implements {@link StateMachine#snapshot()}, the node takes snapshots,
         * compacts its log and can catch up followers whose entries it compacted. Default: none, and
         * the log is never compacted.
         */
        public Builder snapshotStore(SnapshotStore snapshotStore) {
            this.snapshotStore = Objects.requireNonNull(snapshotStore, "snapshotStore");
            return this;
        }

        /** When snapshots are taken and how they are sent; {@link SnapshotConfig#defaults()} if not set. */
        public Builder snapshotConfig(SnapshotConfig snapshotConfig) {
            this.snapshotConfig = Objects.requireNonNull(snapshotConfig, "snapshotConfig");
            return this;
        }

        /**
         * Where the node gets its clock and threads. Default: {@link ThreadScheduler#INSTANCE}, one
         * thread per loop and {@code System.nanoTime()}. The whole-node simulator passes its own to
         * run many nodes in virtual time on one thread; applications have no reason to.
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Where the node reports counters, gauges and latencies (docs/OPERATIONS.md, "Metrics"):
         * {@code new JmxMetrics()} for JMX, or a binding to the application's metrics library.
         * Default: {@link RaftMetrics#NONE}.
         */
        public Builder metrics(RaftMetrics metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics");
            return this;
        }

        /**
         * Builds the server: loads term and vote, reads the log. Starts nothing.
         *
         * @throws IllegalStateException    if a required part is missing
         * @throws IllegalArgumentException if {@code id} is not among the peers, or the transport
         *                                  cannot carry a full batch or a largest command
         */
        public RaftServer build() {
            require(id, "id");
            require(stateMachine, "stateMachine");
            require(logStorage, "logStorage");
            require(termVoteStore, "termVoteStore");
            require(transport, "transport");
            int modes = (peers.isEmpty() ? 0 : 1) + (bootstrap == null ? 0 : 1) + (join ? 1 : 0);
            if (modes != 1) {
                throw new IllegalStateException("RaftServer.builder(): give exactly one of peers, bootstrap and join");
            }
            ClusterStart.Mode mode;
            Configuration initial;
            if (!peers.isEmpty()) {
                LinkedHashSet<String> members = new LinkedHashSet<>(peers);
                if (!members.contains(id)) {
                    throw new IllegalArgumentException("peers " + peers + " must include this node's id " + id);
                }
                mode = ClusterStart.Mode.FIXED;
                initial = Configuration.ofVoters(List.copyOf(members));
            } else if (bootstrap != null) {
                if (!bootstrap.isVoter(id) || bootstrap.isJoint()) {
                    throw new IllegalArgumentException("the bootstrap configuration must be simple and name this node "
                            + id + " as a voter: " + bootstrap);
                }
                mode = ClusterStart.Mode.BOOTSTRAP;
                initial = bootstrap;
            } else {
                mode = ClusterStart.Mode.JOIN;
                initial = Configuration.EMPTY;
            }
            checkTransportCarries(transport, config);
            long s = seed != null ? seed : ThreadLocalRandom.current().nextLong();
            if (snapshotStore != null && transport.maxEntryBytesPerMessage() < snapshotConfig.chunkBytes() + 64L) {
                throw new IllegalArgumentException("the transport carries at most " + transport.maxEntryBytesPerMessage()
                        + " bytes per message, less than a snapshot chunk of " + snapshotConfig.chunkBytes()
                        + " bytes; lower SnapshotConfig.chunkBytes or raise the transport's frame limit");
            }
            IdentityStore identities = identityStore != null ? identityStore : new MemoryIdentityStore();
            Configuration atZero = ClusterStart.prepare(id, mode, initial, clusterId, identities, logStorage,
                    termVoteStore, snapshotStore);
            identities.close();
            return new RaftServer(new RaftRuntime(id, atZero, config, stateMachine, logStorage, termVoteStore,
                    transport, s, listener, scheduler, metrics, snapshotStore, snapshotConfig));
        }

        /** One limit on a command's size from {@code submit} to the wire: the transport must carry it. */
        private static void checkTransportCarries(Transport transport, RaftConfig config) {
            long carries = transport.maxEntryBytesPerMessage();
            long command = config.maxCommandBytes() + Entry.SESSION_HEADER_BYTES + Entry.OVERHEAD_BYTES;
            if (carries < command) {
                throw new IllegalArgumentException("the transport carries at most " + carries
                        + " entry bytes per message, less than one command of maxCommandBytes "
                        + config.maxCommandBytes() + " (+" + (Entry.SESSION_HEADER_BYTES + Entry.OVERHEAD_BYTES)
                        + " bytes of session header and entry overhead); "
                        + "lower RaftConfig.maxCommandBytes or raise the transport's frame limit");
            }
            if (carries < config.maxAppendBytes()) {
                throw new IllegalArgumentException("the transport carries at most " + carries
                        + " entry bytes per message, less than RaftConfig.maxAppendBytes " + config.maxAppendBytes()
                        + "; lower maxAppendBytes or raise the transport's frame limit");
            }
        }

        private static void require(Object part, String name) {
            if (part == null) {
                throw new IllegalStateException("RaftServer.builder(): " + name + " is required");
            }
        }
    }
}
