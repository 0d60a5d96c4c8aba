package org.raftkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;

import org.raftkit.message.Entry;
import org.raftkit.metrics.RaftMetrics;
import org.raftkit.runtime.RaftRuntime;
import org.raftkit.runtime.ThreadScheduler;
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

    /** A builder; {@code id}, {@code peers}, {@code stateMachine}, {@code logStorage}, {@code termVoteStore} and {@code transport} are required. */
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
     * A read of this node's current state with no consistency guarantee: it may miss acknowledged
     * writes (this node may lag, or be a deposed leader). Cheap, and works without a leader.
     *
     * @param query handed to {@link StateMachine#query}
     * @throws IllegalStateException if the server was not started
     */
    public CompletableFuture<byte[]> staleRead(byte[] query) {
        return runtime.staleRead(query);
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

    /** The runtime behind this server; for the simulator's checks (tests in this package). */
    RaftRuntime runtime() {
        return runtime;
    }

    /** Assembles a {@link RaftServer}. Not thread-safe; use once. */
    public static final class Builder {

        private String id;
        private final List<String> peers = new ArrayList<>();
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

        /** Every voting member of the cluster, including this node. How to reach them is the transport's business. */
        public Builder peers(Collection<String> ids) {
            peers.clear();
            peers.addAll(ids);
            return this;
        }

        /** Every voting member of the cluster, including this node. */
        public Builder peers(String... ids) {
            return peers(Arrays.asList(ids));
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
            LinkedHashSet<String> members = new LinkedHashSet<>(peers);
            if (!members.contains(id)) {
                throw new IllegalArgumentException("peers " + peers + " must include this node's id " + id);
            }
            checkTransportCarries(transport, config);
            long s = seed != null ? seed : ThreadLocalRandom.current().nextLong();
            if (snapshotStore != null && transport.maxEntryBytesPerMessage() < snapshotConfig.chunkBytes() + 64L) {
                throw new IllegalArgumentException("the transport carries at most " + transport.maxEntryBytesPerMessage()
                        + " bytes per message, less than a snapshot chunk of " + snapshotConfig.chunkBytes()
                        + " bytes; lower SnapshotConfig.chunkBytes or raise the transport's frame limit");
            }
            return new RaftServer(new RaftRuntime(id, members, config, stateMachine, logStorage, termVoteStore,
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
