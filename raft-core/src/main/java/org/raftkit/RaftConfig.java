package org.raftkit;

/**
 * Tuning of one Raft node. Immutable; every value is checked in the constructor, so a config that
 * exists is valid. Units are in the names. Start from {@link #defaults()} and change what you need
 * with the {@code with…} methods.
 *
 * @param tickMillis               length of one logical clock tick; every timeout below is counted
 *                                 in whole ticks of this length
 * @param electionTimeoutMinMillis lower bound of the randomized election timeout (§5.2)
 * @param electionTimeoutMaxMillis upper bound (exclusive) of the randomized election timeout
 * @param heartbeatIntervalMillis  how often a leader sends heartbeats; well below the election timeout
 * @param preVote                  run a PreVote round before a real election (thesis §9.6); with it on,
 *                                 a node that hears from a leader (or is one) refuses PreVotes and
 *                                 ignores vote requests within the minimum election timeout
 * @param checkQuorum              a leader steps down when it has not heard from a majority within an
 *                                 election timeout (thesis §6.2); with it on, nodes also ignore vote
 *                                 requests while they hear from a leader (thesis §4.2.3)
 * @param maxAppendEntries         most entries in one AppendEntries
 * @param maxAppendBytes           most entry bytes in one AppendEntries (at least one entry is sent)
 * @param maxInflightMessages      most unacknowledged AppendEntries per follower (the pipeline window)
 * @param maxInflightBytes         most unacknowledged entry bytes per follower
 * @param maxApplyBatchBytes       most committed-entry bytes handed to the state machine at once
 * @param maxPendingRequests       most client requests waiting in the runtime; more fail fast as busy
 * @param maxPendingBytes          most client request bytes waiting in the runtime; more fail fast as busy
 * @param requestTimeoutMillis     how long {@code submit} and {@code read} wait before failing with an
 *                                 unknown outcome
 * @param maxCommandBytes          largest command {@code submit} accepts; larger ones fail with
 *                                 {@link CommandTooLargeException}. The transport must carry an
 *                                 AppendEntries holding one such entry ({@code RaftServer.Builder.build}
 *                                 checks)
 * @param maxPromotionLagEntries   how far behind the leader's last index a learner may be and still be
 *                                 promoted to voter (thesis §4.2.1: a voter that must first catch up
 *                                 would stall commitment); 0 requires it to hold the whole log
 * @param leaseReads               allow lease-based reads ({@code RaftServer.leaseRead}, thesis §6.4.1):
 *                                 the leader sends a read round with every heartbeat and answers a
 *                                 lease read without a round of its own while a majority acknowledged
 *                                 one recently; every node then also refuses to vote for the minimum
 *                                 election timeout after it starts, since a restarted node has forgotten
 *                                 the leader it heard. Must be the same on every node; needs
 *                                 {@code checkQuorum}. Off by default: safe only if clocks keep to
 *                                 {@code clockDriftBound}
 * @param clockDriftBound          how much faster one node's clock may run than another's over an
 *                                 election timeout, as a ratio (1.1: 10 %); the lease is shortened by
 *                                 it. Used only with {@code leaseReads}
 */
public record RaftConfig(
        long tickMillis,
        long electionTimeoutMinMillis,
        long electionTimeoutMaxMillis,
        long heartbeatIntervalMillis,
        boolean preVote,
        boolean checkQuorum,
        int maxAppendEntries,
        long maxAppendBytes,
        int maxInflightMessages,
        long maxInflightBytes,
        long maxApplyBatchBytes,
        int maxPendingRequests,
        long maxPendingBytes,
        long requestTimeoutMillis,
        long maxCommandBytes,
        long maxPromotionLagEntries,
        boolean leaseReads,
        double clockDriftBound) {

    public static final long DEFAULT_TICK_MILLIS = 10;
    public static final long DEFAULT_ELECTION_TIMEOUT_MIN_MILLIS = 150;
    public static final long DEFAULT_ELECTION_TIMEOUT_MAX_MILLIS = 300;
    public static final long DEFAULT_HEARTBEAT_INTERVAL_MILLIS = 50;
    public static final int DEFAULT_MAX_APPEND_ENTRIES = 1024;
    public static final long DEFAULT_MAX_APPEND_BYTES = 1L << 20;
    public static final int DEFAULT_MAX_INFLIGHT_MESSAGES = 256;
    public static final long DEFAULT_MAX_INFLIGHT_BYTES = 64L << 20;
    public static final long DEFAULT_MAX_APPLY_BATCH_BYTES = 4L << 20;
    public static final int DEFAULT_MAX_PENDING_REQUESTS = 65_536;
    public static final long DEFAULT_MAX_PENDING_BYTES = 256L << 20;
    public static final long DEFAULT_REQUEST_TIMEOUT_MILLIS = 5_000;
    /**
     * 4 MiB: large enough for documents and small blobs, small enough that one entry fits the
     * transport's default 8 MiB frame with room to spare, and that a slow follower's window
     * ({@link #DEFAULT_MAX_INFLIGHT_BYTES}) still holds many of them.
     */
    public static final long DEFAULT_MAX_COMMAND_BYTES = 4L << 20;

    /** A learner within this many entries of the leader may become a voter: a few round trips' worth. */
    public static final long DEFAULT_MAX_PROMOTION_LAG_ENTRIES = 1_000;

    /**
     * 1.1: a clock 10 % fast against another over 150 ms. Crystal clocks drift by parts per million;
     * what this covers is a virtual machine's clock being slewed or a host under steal time.
     */
    public static final double DEFAULT_CLOCK_DRIFT_BOUND = 1.1;

    public RaftConfig {
        if (!(clockDriftBound >= 1.0 && clockDriftBound <= 2.0)) {
            throw new IllegalArgumentException("clockDriftBound must be in [1, 2], was " + clockDriftBound);
        }
        if (leaseReads && !checkQuorum) {
            throw new IllegalArgumentException("leaseReads needs checkQuorum: without it a leader cut off from the "
                    + "majority would not step down, and followers would not refuse votes while they hear from it");
        }
        if (maxPromotionLagEntries < 0) {
            throw new IllegalArgumentException("maxPromotionLagEntries must not be negative, was "
                    + maxPromotionLagEntries);
        }
        positive("tickMillis", tickMillis);
        positive("electionTimeoutMinMillis", electionTimeoutMinMillis);
        positive("heartbeatIntervalMillis", heartbeatIntervalMillis);
        positive("maxAppendEntries", maxAppendEntries);
        positive("maxAppendBytes", maxAppendBytes);
        positive("maxInflightMessages", maxInflightMessages);
        positive("maxInflightBytes", maxInflightBytes);
        positive("maxApplyBatchBytes", maxApplyBatchBytes);
        positive("maxPendingRequests", maxPendingRequests);
        positive("maxPendingBytes", maxPendingBytes);
        positive("requestTimeoutMillis", requestTimeoutMillis);
        positive("maxCommandBytes", maxCommandBytes);
        if (maxCommandBytes > maxPendingBytes) {
            throw new IllegalArgumentException("maxCommandBytes (" + maxCommandBytes
                    + ") must not exceed maxPendingBytes (" + maxPendingBytes + ")");
        }
        if (electionTimeoutMaxMillis <= electionTimeoutMinMillis) {
            throw new IllegalArgumentException("electionTimeoutMaxMillis (" + electionTimeoutMaxMillis
                    + ") must be greater than electionTimeoutMinMillis (" + electionTimeoutMinMillis + ")");
        }
        if (heartbeatIntervalMillis >= electionTimeoutMinMillis) {
            throw new IllegalArgumentException("heartbeatIntervalMillis (" + heartbeatIntervalMillis
                    + ") must be less than electionTimeoutMinMillis (" + electionTimeoutMinMillis + ")");
        }
        if (tickMillis > heartbeatIntervalMillis) {
            throw new IllegalArgumentException("tickMillis (" + tickMillis
                    + ") must not exceed heartbeatIntervalMillis (" + heartbeatIntervalMillis + ")");
        }
        if (electionTimeoutMaxMillis / tickMillis <= electionTimeoutMinMillis / tickMillis) {
            throw new IllegalArgumentException("the election timeout range [" + electionTimeoutMinMillis + ", "
                    + electionTimeoutMaxMillis + ") ms must span at least one tick of " + tickMillis + " ms");
        }
    }

    /** The defaults: 10 ms ticks, election timeout in [150, 300) ms, heartbeats every 50 ms, PreVote and CheckQuorum on. */
    public static RaftConfig defaults() {
        return new RaftConfig(DEFAULT_TICK_MILLIS, DEFAULT_ELECTION_TIMEOUT_MIN_MILLIS,
                DEFAULT_ELECTION_TIMEOUT_MAX_MILLIS, DEFAULT_HEARTBEAT_INTERVAL_MILLIS, true, true,
                DEFAULT_MAX_APPEND_ENTRIES, DEFAULT_MAX_APPEND_BYTES, DEFAULT_MAX_INFLIGHT_MESSAGES,
                DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_MAX_APPLY_BATCH_BYTES, DEFAULT_MAX_PENDING_REQUESTS,
                DEFAULT_MAX_PENDING_BYTES, DEFAULT_REQUEST_TIMEOUT_MILLIS, DEFAULT_MAX_COMMAND_BYTES,
                DEFAULT_MAX_PROMOTION_LAG_ENTRIES,
                false, DEFAULT_CLOCK_DRIFT_BOUND);
    }

    /** Election timeout lower bound in ticks. */
    public int electionTimeoutMinTicks() {
        return (int) (electionTimeoutMinMillis / tickMillis);
    }

    /** Election timeout upper bound (exclusive) in ticks. */
    public int electionTimeoutMaxTicks() {
        return (int) (electionTimeoutMaxMillis / tickMillis);
    }

    /** Heartbeat interval in ticks (at least 1). */
    public int heartbeatIntervalTicks() {
        return (int) Math.max(1, heartbeatIntervalMillis / tickMillis);
    }

    public RaftConfig withTickMillis(long v) {
        return new RaftConfig(v, electionTimeoutMinMillis, electionTimeoutMaxMillis, heartbeatIntervalMillis, preVote,
                checkQuorum, maxAppendEntries, maxAppendBytes, maxInflightMessages, maxInflightBytes,
                maxApplyBatchBytes, maxPendingRequests, maxPendingBytes, requestTimeoutMillis, maxCommandBytes,
                maxPromotionLagEntries, leaseReads, clockDriftBound);
    }

    public RaftConfig withElectionTimeoutMillis(long min, long max) {
        return new RaftConfig(tickMillis, min, max, heartbeatIntervalMillis, preVote, checkQuorum, maxAppendEntries,
                maxAppendBytes, maxInflightMessages, maxInflightBytes, maxApplyBatchBytes, maxPendingRequests,
                maxPendingBytes, requestTimeoutMillis, maxCommandBytes, maxPromotionLagEntries, leaseReads, clockDriftBound);
    }

    public RaftConfig withHeartbeatIntervalMillis(long v) {
        return new RaftConfig(tickMillis, electionTimeoutMinMillis, electionTimeoutMaxMillis, v, preVote, checkQuorum,
                maxAppendEntries, maxAppendBytes, maxInflightMessages, maxInflightBytes, maxApplyBatchBytes,
                maxPendingRequests, maxPendingBytes, requestTimeoutMillis, maxCommandBytes, maxPromotionLagEntries, leaseReads, clockDriftBound);
    }

    public RaftConfig withPreVote(boolean v) {
        return new RaftConfig(tickMillis, electionTimeoutMinMillis, electionTimeoutMaxMillis, heartbeatIntervalMillis,
                v, checkQuorum, maxAppendEntries, maxAppendBytes, maxInflightMessages, maxInflightBytes,
                maxApplyBatchBytes, maxPendingRequests, maxPendingBytes, requestTimeoutMillis, maxCommandBytes,
                maxPromotionLagEntries, leaseReads, clockDriftBound);
    }

    public RaftConfig withCheckQuorum(boolean v) {
        return new RaftConfig(tickMillis, electionTimeoutMinMillis, electionTimeoutMaxMillis, heartbeatIntervalMillis,
                preVote, v, maxAppendEntries, maxAppendBytes, maxInflightMessages, maxInflightBytes,
                maxApplyBatchBytes, maxPendingRequests, maxPendingBytes, requestTimeoutMillis, maxCommandBytes,
                maxPromotionLagEntries, leaseReads, clockDriftBound);
    }

    public RaftConfig withMaxAppend(int entries, long bytes) {
        return new RaftConfig(tickMillis, electionTimeoutMinMillis, electionTimeoutMaxMillis, heartbeatIntervalMillis,
                preVote, checkQuorum, entries, bytes, maxInflightMessages, maxInflightBytes, maxApplyBatchBytes,
                maxPendingRequests, maxPendingBytes, requestTimeoutMillis, maxCommandBytes, maxPromotionLagEntries, leaseReads, clockDriftBound);
    }

    public RaftConfig withMaxInflight(int messages, long bytes) {
        return new RaftConfig(tickMillis, electionTimeoutMinMillis, electionTimeoutMaxMillis, heartbeatIntervalMillis,
                preVote, checkQuorum, maxAppendEntries, maxAppendBytes, messages, bytes, maxApplyBatchBytes,
                maxPendingRequests, maxPendingBytes, requestTimeoutMillis, maxCommandBytes, maxPromotionLagEntries, leaseReads, clockDriftBound);
    }

    public RaftConfig withMaxApplyBatchBytes(long v) {
        return new RaftConfig(tickMillis, electionTimeoutMinMillis, electionTimeoutMaxMillis, heartbeatIntervalMillis,
                preVote, checkQuorum, maxAppendEntries, maxAppendBytes, maxInflightMessages, maxInflightBytes, v,
                maxPendingRequests, maxPendingBytes, requestTimeoutMillis, maxCommandBytes, maxPromotionLagEntries, leaseReads, clockDriftBound);
    }

    public RaftConfig withMaxPending(int requests, long bytes) {
        return new RaftConfig(tickMillis, electionTimeoutMinMillis, electionTimeoutMaxMillis, heartbeatIntervalMillis,
                preVote, checkQuorum, maxAppendEntries, maxAppendBytes, maxInflightMessages, maxInflightBytes,
                maxApplyBatchBytes, requests, bytes, requestTimeoutMillis, Math.min(maxCommandBytes, bytes),
                maxPromotionLagEntries, leaseReads, clockDriftBound);
    }

    public RaftConfig withRequestTimeoutMillis(long v) {
        return new RaftConfig(tickMillis, electionTimeoutMinMillis, electionTimeoutMaxMillis, heartbeatIntervalMillis,
                preVote, checkQuorum, maxAppendEntries, maxAppendBytes, maxInflightMessages, maxInflightBytes,
                maxApplyBatchBytes, maxPendingRequests, maxPendingBytes, v, maxCommandBytes, maxPromotionLagEntries, leaseReads, clockDriftBound);
    }

    /**
     * The largest command {@code submit} accepts. One limit from the API to the wire: the server
     * refuses to build on a transport whose largest message could not carry such a command.
     */
    public RaftConfig withMaxCommandBytes(long v) {
        return new RaftConfig(tickMillis, electionTimeoutMinMillis, electionTimeoutMaxMillis, heartbeatIntervalMillis,
                preVote, checkQuorum, maxAppendEntries, maxAppendBytes, maxInflightMessages, maxInflightBytes,
                maxApplyBatchBytes, maxPendingRequests, maxPendingBytes, requestTimeoutMillis, v,
                maxPromotionLagEntries, leaseReads, clockDriftBound);
    }

    /** How far behind the leader a learner may be and still be promoted to voter. */
    public RaftConfig withMaxPromotionLagEntries(long v) {
        return new RaftConfig(tickMillis, electionTimeoutMinMillis, electionTimeoutMaxMillis, heartbeatIntervalMillis,
                preVote, checkQuorum, maxAppendEntries, maxAppendBytes, maxInflightMessages, maxInflightBytes,
                maxApplyBatchBytes, maxPendingRequests, maxPendingBytes, requestTimeoutMillis, maxCommandBytes, v, leaseReads, clockDriftBound);
    }

    /**
     * Allows lease-based reads, with the given clock drift bound; see the class comment. Every node
     * of the cluster must use the same setting.
     */
    public RaftConfig withLeaseReads(boolean v, double driftBound) {
        return new RaftConfig(tickMillis, electionTimeoutMinMillis, electionTimeoutMaxMillis, heartbeatIntervalMillis,
                preVote, checkQuorum, maxAppendEntries, maxAppendBytes, maxInflightMessages, maxInflightBytes,
                maxApplyBatchBytes, maxPendingRequests, maxPendingBytes, requestTimeoutMillis, maxCommandBytes,
                maxPromotionLagEntries, v, driftBound);
    }

    /**
     * The lease's length in ticks: a leader may answer a lease read while fewer than this many of
     * its ticks have passed since it sent a round that a majority acknowledged. The followers that
     * acknowledged it refuse to vote for at least {@code electionTimeoutMinTicks - 1} of their ticks
     * after receiving it (the first may end just after), which is that many divided by the drift
     * bound in the leader's ticks; and the leader's count may lag real time by up to one tick, which
     * the strict "fewer than" leaves room for. 0 means no lease at all.
     */
    public int leaseTicks() {
        return (int) Math.max(0, Math.floor((electionTimeoutMinTicks() - 1) / clockDriftBound));
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
    }
}
