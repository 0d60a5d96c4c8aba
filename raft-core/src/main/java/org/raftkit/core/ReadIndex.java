package org.raftkit.core;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.raftkit.Role;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.message.ReadIndexRequest;

/**
 * Linearizable reads without writing to the log (thesis §6.4, "ReadIndex").
 *
 * <ol>
 *   <li>The leader must have committed an entry of its own term, so its commit index is at least
 *       that of any earlier leader; reads arriving before that wait.</li>
 *   <li>It records its commitIndex as the read index.</li>
 *   <li>It confirms it is still leader by hearing from a majority in answer to heartbeats sent
 *       after the read arrived. Reads arriving together share one round.</li>
 *   <li>The read may then be answered once the state machine has applied up to the read index.</li>
 * </ol>
 * A follower asks the leader for steps 1 to 3 with a {@link ReadIndexRequest} and does step 4 itself.
 */
final class ReadIndex {

    private final RaftNode node;

    /** Leader: reads waiting for an entry of the current term to commit. */
    private final List<PendingRead> waitingForCommit = new ArrayList<>();
    /** Leader: reads waiting for their round to be confirmed, in round order. */
    private final ArrayDeque<PendingRead> waitingForQuorum = new ArrayDeque<>();
    /** Leader: reads have arrived that no heartbeat round covers yet. */
    private boolean roundNeeded;

    /**
     * Follower: reads sent to the leader and not answered, with the tick they were sent at. A read
     * unanswered for an election timeout is given up (its request or answer was lost), so this
     * never grows without bound while the leader stays the same.
     */
    private final Map<Long, Asked> forwarded = new LinkedHashMap<>();
    private long ticks;
    /** Reads answered under the leader's lease, without a round of their own. */
    long leaseReads;

    ReadIndex(RaftNode node) {
        this.node = node;
    }

    /**
     * @param origin null for a read of this node's own driver, else the follower that asked
     */
    private record PendingRead(long context, String origin, long readIndex, long round) {
    }

    /** Follower: whom a read was sent to, in which term, at which tick; only that leader's reply in that term counts. */
    private record Asked(String leader, long term, long tick) {
    }

    RaftNode.ReadAccepted readIndex(long context, boolean lease) {
        if (node.role == Role.LEADER) {
            if (lease && leaseAnswers()) {
                node.readStates.add(new ReadState(context, node.log.commitIndex()));
                return RaftNode.ReadAccepted.ACCEPTED;
            }
            accept(new PendingRead(context, null, 0, 0));
            return RaftNode.ReadAccepted.ACCEPTED;
        }
        if (node.leaderId == null) {
            return RaftNode.ReadAccepted.NO_LEADER;
        }
        forwarded.put(context, new Asked(node.leaderId, node.currentTerm, ticks));
        node.sendNow(new ReadIndexRequest(node.id, node.leaderId, node.currentTerm, context, lease));
        return RaftNode.ReadAccepted.ACCEPTED;
    }

    void handleReadIndexRequest(ReadIndexRequest r) {
        if (node.role != Role.LEADER) {
            node.send(new ReadIndexReply(node.id, r.from(), node.currentTerm, r.requestId(), false, 0));
            return;
        }
        if (r.lease() && leaseAnswers()) {
            node.send(new ReadIndexReply(node.id, r.from(), node.currentTerm, r.requestId(), true, node.log.commitIndex()));
            return;
        }
        accept(new PendingRead(r.requestId(), r.from(), 0, 0));
    }

    void handleReadIndexReply(ReadIndexReply r) {
        // Every read in flight went to the current leader (a new leader fails them all), so an
        // answer from anyone else would complete a read nobody confirmed.
        MessageValidator.Reason invalid = MessageValidator.checkReadIndexReply(r, node.leaderId);
        if (invalid != null) {
            node.refuse(r, invalid);
            return;
        }
        Asked asked = forwarded.get(r.requestId());
        if (asked == null || !asked.leader().equals(r.from()) || asked.term() != r.term()) {
            return; // already given up on, or not from the leader and term we asked: never trust it
        }
        forwarded.remove(r.requestId());
        if (r.success()) {
            node.readStates.add(new ReadState(r.requestId(), r.readIndex()));
        } else {
            node.failedReads.add(r.requestId());
        }
    }

    private void accept(PendingRead read) {
        if (!committedInCurrentTerm()) {
            waitingForCommit.add(read);
            return;
        }
        long readIndex = node.log.commitIndex();
        if (node.leader.aloneIsQuorum()) {
            complete(read, readIndex); // a single voter is its own majority
            return;
        }
        waitingForQuorum.addLast(new PendingRead(read.context, read.origin, readIndex, node.leader.readRound() + 1));
        roundNeeded = true;
    }

    /**
     * Leader: whether a lease read (its own or a follower's) may be answered from the commit index
     * now, without a round (thesis §6.4.1): the lease holds, so no other leader can have been
     * elected, and an entry of this term is committed, so the commit index is the latest. Counts
     * the read when it may.
     */
    private boolean leaseAnswers() {
        if (node.leader.leaseHolds() && committedInCurrentTerm()) {
            leaseReads++;
            return true;
        }
        return false;
    }

    private boolean committedInCurrentTerm() {
        return node.log.term(node.log.commitIndex()) == node.currentTerm;
    }

    /** The leader's commit index advanced: reads held for the first commit of the term can go on. */
    void onCommitAdvanced() {
        if (waitingForCommit.isEmpty() || !committedInCurrentTerm()) {
            return;
        }
        List<PendingRead> held = new ArrayList<>(waitingForCommit);
        waitingForCommit.clear();
        for (PendingRead read : held) {
            accept(read);
        }
    }

    /** Sends one heartbeat round for the reads that arrived since the last. Called from ready(). */
    void flush() {
        if (roundNeeded) {
            roundNeeded = false;
            node.replication.broadcastHeartbeat(node.leader.nextReadRound());
        }
    }

    void onHeartbeatReply(Progress pr, long round) {
        if (round > pr.readRoundAcked) {
            pr.readRoundAcked = round;
        }
        long confirmed = node.leader.quorumReadRound();
        node.leader.onRoundConfirmed(confirmed);
        while (!waitingForQuorum.isEmpty() && waitingForQuorum.peekFirst().round <= confirmed) {
            PendingRead read = waitingForQuorum.pollFirst();
            complete(read, read.readIndex);
        }
    }

    private void complete(PendingRead read, long readIndex) {
        if (read.origin == null) {
            node.readStates.add(new ReadState(read.context, readIndex));
        } else {
            node.send(new ReadIndexReply(node.id, read.origin, node.currentTerm, read.context, true, readIndex));
        }
    }

    /** The leader stepped down: no pending read can be confirmed any more. */
    void failAllAsLeader() {
        List<PendingRead> all = new ArrayList<>(waitingForCommit);
        all.addAll(waitingForQuorum);
        waitingForCommit.clear();
        waitingForQuorum.clear();
        roundNeeded = false;
        for (PendingRead read : all) {
            if (read.origin == null) {
                node.failedReads.add(read.context);
            } else {
                node.send(new ReadIndexReply(node.id, read.origin, node.currentTerm, read.context, false, 0));
            }
        }
    }

    /** The leader we asked is no longer our leader: fail the reads we sent it, so callers can retry. */
    void failForwarded() {
        node.failedReads.addAll(forwarded.keySet());
        forwarded.clear();
    }

    /** Gives up forwarded reads unanswered for the maximum election timeout (oldest first). */
    void onTick() {
        ticks++;
        if (forwarded.isEmpty()) {
            return;
        }
        long expiredBefore = ticks - node.config.electionTimeoutMaxTicks();
        var it = forwarded.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Long, Asked> e = it.next();
            if (e.getValue().tick() > expiredBefore) {
                break; // insertion order is send order
            }
            node.failedReads.add(e.getKey());
            it.remove();
        }
    }
}
