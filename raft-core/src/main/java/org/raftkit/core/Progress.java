package org.raftkit.core;

/**
 * What a leader knows of one follower's log (Figure 2 "Volatile state on leaders"), and how it is
 * sending to it.
 *
 * <p>In {@link State#PROBE} the leader does not know where the follower's log matches its own: it
 * sends one AppendEntries at a time and waits for the answer. In {@link State#REPLICATE} it does
 * know, and streams AppendEntries back to back, optimistically advancing {@code nextIndex}, within a
 * window of {@code maxInflightMessages} messages and {@code maxInflightBytes} bytes.
 */
final class Progress {

    enum State { PROBE, REPLICATE }

    final String peerId;

    /**
     * Index of highest log entry known to be replicated on the follower. Invariant: matchIndex <
     * nextIndex, and matchIndex <= the leader's lastIndex. It only grows, with one exception: the
     * follower proves it lost entries it acknowledged as durable ({@link #lostDurability}), which
     * never happens in a correct system (Raft assumes what a node acknowledged stays on its disk).
     */
    long matchIndex;

    /** Index of the next log entry to send to that follower. */
    long nextIndex;

    State state = State.PROBE;

    /** In PROBE: an AppendEntries is outstanding; do not send another until a reply or heartbeat reply. */
    boolean probeSent;

    /**
     * A rejection contradicted matchIndex (the follower claimed to hold less than it acknowledged),
     * and the leader is probing at matchIndex itself to confirm it before believing it. Set only
     * in PROBE; while set, the probe goes out even with no entries to carry.
     */
    boolean confirmingLoss;

    /** Heard from this follower since the last CheckQuorum round. */
    boolean recentActive;

    /** The follower may not know the leader's commit index covers entries it acknowledged since. */
    boolean commitUnknown;

    /** Highest ReadIndex round this follower has confirmed. */
    long readRoundAcked;

    /** matchIndex as it was at the previous heartbeat, to notice a stalled pipeline. */
    long matchAtLastHeartbeat;

    /** Heartbeat intervals in a row with this follower behind and matchIndex not moving. */
    int stalledHeartbeats;

    private final Inflights inflights;

    Progress(String peerId, long nextIndex, int maxInflightMessages, long maxInflightBytes) {
        this.peerId = peerId;
        this.nextIndex = nextIndex;
        this.inflights = new Inflights(maxInflightMessages, maxInflightBytes);
    }

    /** Whether the leader must hold off sending entries to this follower. */
    boolean isPaused() {
        return state == State.PROBE ? probeSent : inflights.isFull();
    }

    void becomeProbe(long next) {
        state = State.PROBE;
        nextIndex = Math.max(next, matchIndex + 1);
        probeSent = false;
        confirmingLoss = false;
        inflights.clear();
    }

    /** Probes at matchIndex itself, to learn whether the follower still holds what it acknowledged. */
    void probeToConfirmLoss() {
        becomeProbe(matchIndex + 1);
        confirmingLoss = true;
    }

    void becomeReplicate() {
        state = State.REPLICATE;
        nextIndex = matchIndex + 1;
        probeSent = false;
        confirmingLoss = false;
        inflights.clear();
    }

    /**
     * The follower no longer holds what it acknowledged: its disk lost entries it had reported
     * durable (a wiped data directory, a lost tail). matchIndex goes down to {@code stillHeld}, the
     * most the follower may still hold in agreement with the leader, and the leader probes again.
     * The only place matchIndex decreases.
     */
    void lostDurability(long stillHeld) {
        matchIndex = Math.min(matchIndex, Math.max(0, stillHeld));
        matchAtLastHeartbeat = matchIndex;
        commitUnknown = false;
        becomeProbe(matchIndex + 1);
    }

    /** Records that entries after {@code prevLogIndex} up to {@code lastIndex} ({@code bytes} of them) were just sent. */
    void sentEntries(long prevLogIndex, long lastIndex, long bytes) {
        if (state == State.REPLICATE) {
            nextIndex = lastIndex + 1;
            inflights.add(prevLogIndex, lastIndex, bytes);
        } else {
            probeSent = true;
        }
    }

    /** The follower acknowledged entries up to {@code index}. Returns true if matchIndex moved. */
    boolean acknowledge(long index) {
        boolean advanced = index > matchIndex;
        if (advanced) {
            matchIndex = index;
        }
        if (nextIndex <= matchIndex) {
            nextIndex = matchIndex + 1;
        }
        inflights.freeTo(index);
        return advanced;
    }

    int inflightCount() {
        return inflights.count();
    }

    /**
     * In REPLICATE, whether a rejection of the AppendEntries sent after {@code prevLogIndex} tells
     * us something: only if it answers the oldest message still in flight. A rejection of a later
     * one just means an earlier message is late (reordered) or lost; acting on it would re-send
     * the whole window each time, which on a reordering network feeds itself. Loss is caught by
     * the stall probe instead.
     */
    boolean rejectionAnswersOldestInflight(long prevLogIndex) {
        return inflights.count() > 0 && inflights.oldestPrevLogIndex() == prevLogIndex;
    }

    void checkInvariants() {
        if (confirmingLoss && state != State.PROBE) {
            throw new IllegalStateException(peerId + ": confirming a loss while in " + state);
        }
        if (matchIndex >= nextIndex) {
            throw new IllegalStateException(peerId + ": matchIndex " + matchIndex + " >= nextIndex " + nextIndex);
        }
    }

    @Override
    public String toString() {
        return peerId + "{" + state + " match=" + matchIndex + " next=" + nextIndex + " inflight=" + inflights.count() + "}";
    }

    /** A ring of the index range and byte size of each AppendEntries in flight, oldest first. */
    static final class Inflights {
        private final long[] prevLogIndexes;
        private final long[] lastIndexes;
        private final long[] sizes;
        private final long maxBytes;
        private int start;
        private int count;
        private long bytes;

        Inflights(int maxMessages, long maxBytes) {
            this.prevLogIndexes = new long[maxMessages];
            this.lastIndexes = new long[maxMessages];
            this.sizes = new long[maxMessages];
            this.maxBytes = maxBytes;
        }

        boolean isFull() {
            return count == lastIndexes.length || bytes >= maxBytes;
        }

        int count() {
            return count;
        }

        void add(long prevLogIndex, long lastIndex, long size) {
            if (count == lastIndexes.length) {
                throw new IllegalStateException("inflight window overflow");
            }
            int slot = (start + count) % lastIndexes.length;
            prevLogIndexes[slot] = prevLogIndex;
            lastIndexes[slot] = lastIndex;
            sizes[slot] = size;
            count++;
            bytes += size;
        }

        long oldestPrevLogIndex() {
            return prevLogIndexes[start];
        }

        void freeTo(long index) {
            while (count > 0 && lastIndexes[start] <= index) {
                freeFirst();
            }
        }

        void freeFirst() {
            if (count == 0) {
                return;
            }
            bytes -= sizes[start];
            start = (start + 1) % lastIndexes.length;
            count--;
        }

        void clear() {
            start = 0;
            count = 0;
            bytes = 0;
        }
    }
}
