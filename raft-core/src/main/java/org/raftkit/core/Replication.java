package org.raftkit.core;

import java.util.List;

import org.raftkit.Role;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.Entry;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.HeartbeatReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Log replication (§5.3) and commitment (§5.4.2): the leader's sending side, the follower's
 * AppendEntries and heartbeat handling, and the commit rule.
 *
 * <p>The leader does not send on every proposal or acknowledgement. Those only mark that sending
 * may be possible; {@link #flush()}, called once per {@link RaftNode#ready()}, then sends each
 * follower what its window allows. Proposals that arrive together therefore leave together, in
 * as few AppendEntries as the batch limits allow.
 */
final class Replication {

    private static final Logger LOG = LoggerFactory.getLogger(Replication.class);

    private final RaftNode node;

    /** Leader: something changed that may let entries or a new commit index go out. */
    private boolean sendPending;

    /** Leader: the commit index advanced and followers should hear of it. */
    private boolean commitAdvanced;

    Replication(RaftNode node) {
        this.node = node;
    }

    // ---------------------------------------------------------------------------------------------
    // Leader: sending
    // ---------------------------------------------------------------------------------------------

    /** Something changed that may let entries go out to a follower at the next flush. */
    void markSendPending() {
        sendPending = true;
    }

    /** The leader appended to its log. */
    void entriesAppended() {
        sendPending = true;
        // A single-node cluster commits on its own durable write; nothing to send.
    }

    /** Sends each follower what it can take now. */
    void flush() {
        if (!sendPending && !commitAdvanced) {
            return; // commitUnknown is only ever set together with sendPending
        }
        for (Progress pr : node.leader.followers()) {
            boolean sentAny = false;
            // A probe confirming a loss goes out even empty: it asks about matchIndex itself.
            while (sendAppend(pr, pr.confirmingLoss)) {
                sentAny = true;
            }
            if ((commitAdvanced || pr.commitUnknown) && !sentAny) {
                // Tell the follower of the new commit index now rather than at the next heartbeat,
                // so its state machine (and the reads it serves) keeps up.
                sendHeartbeat(pr, node.leader.readRound());
            }
            pr.commitUnknown = false;
        }
        sendPending = false;
        commitAdvanced = false;
    }

    /**
     * Sends one AppendEntries to a follower if its window allows.
     *
     * @param sendIfEmpty send even with no entries (a probe to learn where the logs match)
     * @return whether a message with entries was sent and more might follow
     */
    private boolean sendAppend(Progress pr, boolean sendIfEmpty) {
        if (pr.isPaused()) {
            return false;
        }
        long prevLogIndex = pr.nextIndex - 1;
        long prevLogTerm = node.log.term(prevLogIndex);
        if (prevLogTerm < 0) {
            // The entries the follower needs were compacted into a snapshot (§7): send it instead.
            node.snapshots.startSending(pr);
            return false;
        }
        long last = node.log.lastIndex();
        List<Entry> entries = node.log.entries(pr.nextIndex, last + 1, node.config.maxAppendBytes(),
                node.config.maxAppendEntries());
        if (entries.isEmpty() && !sendIfEmpty) {
            return false;
        }
        node.send(new AppendEntries(node.id, pr.peerId, node.currentTerm, prevLogIndex, prevLogTerm, entries,
                node.log.commitIndex()));
        long bytes = 0;
        for (Entry e : entries) {
            bytes += e.sizeBytes();
        }
        pr.sentEntries(prevLogIndex, prevLogIndex + entries.size(), bytes);
        return !entries.isEmpty() && pr.state == Progress.State.REPLICATE;
    }

    private void sendHeartbeat(Progress pr, long readRound) {
        // Capped at matchIndex: the follower must never commit an entry it may not hold (or hold
        // a different version of).
        long commit = Math.min(pr.matchIndex, node.log.commitIndex());
        node.send(new Heartbeat(node.id, pr.peerId, node.currentTerm, commit, readRound));
    }

    /** Leaders (Figure 2): "send initial empty AppendEntries RPCs (heartbeat) to each server; repeat during idle periods". */
    void onHeartbeatTimeout() {
        // With lease reads on, every heartbeat is a new round, so its acknowledgements renew the lease.
        broadcastHeartbeat(node.config.leaseReads() ? node.leader.nextReadRound() : node.leader.readRound());
        long last = node.log.lastIndex();
        for (Progress pr : node.leader.followers()) {
            node.snapshots.onHeartbeat(pr);
            if (pr.matchIndex >= last || pr.matchIndex != pr.matchAtLastHeartbeat) {
                pr.stalledHeartbeats = 0;
            } else if (pr.state == Progress.State.REPLICATE && ++pr.stalledHeartbeats >= 2) {
                // Behind, and no acknowledgement for two heartbeat intervals: entries or their
                // answers were lost, and with nothing new to send nobody would notice. Fall back to
                // probing from what is known to match.
                LOG.debug("{} probing {} again (no progress for two heartbeat intervals)", node.id, pr);
                pr.becomeProbe(pr.matchIndex + 1);
                pr.stalledHeartbeats = 0;
                sendPending = true;
            }
            pr.matchAtLastHeartbeat = pr.matchIndex;
        }
    }

    void broadcastHeartbeat(long readRound) {
        for (Progress pr : node.leader.followers()) {
            sendHeartbeat(pr, readRound);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Follower: receiving
    // ---------------------------------------------------------------------------------------------

    /**
     * AppendEntries receiver (Figure 2). Rule 1 (reply false if term < currentTerm) is applied in
     * {@link RaftNode#step}.
     */
    /**
     * Follower: the largest {@code leaderCommit} the current leader sent this term in AppendEntries
     * (heartbeats carry a value capped at our matchIndex, so they do not count). Only reported,
     * never trusted for commitment; reset when the leader changes.
     */
    long leaderCommitSeen;

    void handleAppendEntries(AppendEntries ae) {
        acceptLeader(ae.from());
        leaderCommitSeen = Math.max(leaderCommitSeen, ae.leaderCommit());
        long prevLogIndex = ae.prevLogIndex();
        if (prevLogIndex < node.log.commitIndex()) {
            // Everything up to our commit index already matches the leader (Leader Completeness),
            // so skip the part of the request we know we hold.
            long skipTo = node.log.commitIndex();
            List<Entry> rest = ae.entries();
            int skip = (int) Math.min(rest.size(), skipTo - prevLogIndex);
            if (skip == rest.size() && ae.lastIndex() <= skipTo) {
                node.send(AppendEntriesReply.success(node.id, ae.from(), node.currentTerm, prevLogIndex, skipTo));
                return;
            }
            ae = new AppendEntries(ae.from(), ae.to(), ae.term(), prevLogIndex + skip,
                    node.log.term(prevLogIndex + skip), rest.subList(skip, rest.size()), ae.leaderCommit());
            prevLogIndex = ae.prevLogIndex();
        }
        // Rule 2: reply false if log doesn't contain an entry at prevLogIndex whose term matches prevLogTerm.
        if (!node.log.matchTerm(prevLogIndex, ae.prevLogTerm())) {
            rejectWithHint(ae);
            return;
        }
        // Rules 3 and 4: delete conflicting entries, append new ones.
        long lastNewIndex = node.log.appendFromLeader(prevLogIndex, ae.entries());
        // Rule 5: if leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry).
        if (ae.leaderCommit() > node.log.commitIndex()) {
            node.log.commitTo(Math.min(ae.leaderCommit(), lastNewIndex));
        }
        // Sent only after this Ready's entries are durable (Ready step 3), so matchIndex is a promise we keep.
        node.send(AppendEntriesReply.success(node.id, ae.from(), node.currentTerm, ae.prevLogIndex(), lastNewIndex));
    }

    /**
     * The conflict hint (end of §5.3): name the term of our entry at prevLogIndex and the first
     * index we hold of that term, so the leader can skip the whole term in one round trip; or, if
     * our log is too short, our last index + 1.
     */
    private void rejectWithHint(AppendEntries ae) {
        long last = node.log.lastIndex();
        long conflictTerm;
        long conflictIndex;
        if (ae.prevLogIndex() > last) {
            conflictTerm = 0;
            conflictIndex = last + 1;
        } else {
            conflictTerm = node.log.term(ae.prevLogIndex());
            conflictIndex = node.log.firstIndexOfTermEndingAt(ae.prevLogIndex(), conflictTerm);
        }
        LOG.debug("{} rejected AppendEntries from {} at term {} (no entry {} with term {}; hint term {} index {})",
                node.id, ae.from(), ae.term(), ae.prevLogIndex(), ae.prevLogTerm(), conflictTerm, conflictIndex);
        node.send(AppendEntriesReply.reject(node.id, ae.from(), node.currentTerm, ae.prevLogIndex(), conflictTerm,
                conflictIndex));
    }

    void handleHeartbeat(Heartbeat hb) {
        acceptLeader(hb.from());
        // Rule 5 for a heartbeat. It carries no prevLogIndex/prevLogTerm to check, so its commit
        // index is trusted only as far as our log is known to match the leader's: up to our last
        // entry of the leader's term. Only that leader creates entries of its term, and by Log
        // Matching everything before such an entry matches too. A correct leader caps the value
        // at our matchIndex anyway; this keeps a wrong one from committing entries we hold from an
        // earlier term that its log may not contain.
        long verified = node.log.lastIndexOfTerm(node.currentTerm, node.log.lastIndex());
        long commit = Math.min(hb.commitIndex(), verified);
        if (commit > node.log.commitIndex()) {
            node.log.commitTo(commit);
        }
        if (hb.commitIndex() > node.log.lastIndex()) {
            // The leader caps a heartbeat's commit index at our matchIndex, which we acknowledged as
            // durable: we have lost entries we promised to keep (a wiped or truncated disk). Say
            // so, or an idle leader never learns it and we never catch up (issue 9, bug 2). The
            // rejection has the shape of one for prevLogIndex = that commit index.
            long last = node.log.lastIndex();
            // At debug: the leader logs the event once, as a lost-durability WARN, when it confirms it.
            LOG.debug("{} holds entries only up to {} but leader {} says it acknowledged {}: lost durability, asking for them again",
                    node.id, last, hb.from(), hb.commitIndex());
            node.send(AppendEntriesReply.reject(node.id, hb.from(), node.currentTerm, hb.commitIndex(), 0, last + 1));
        }
        node.sendNow(new HeartbeatReply(node.id, hb.from(), node.currentTerm, hb.readRound()));
    }

    /** A message from the leader of our term: follow it and restart the election timer. */
    void acceptLeader(String from) {
        if (node.role != Role.FOLLOWER || !from.equals(node.leaderId)) {
            // A candidate that hears from the new leader of its own term steps down (§5.2).
            node.becomeFollower(node.currentTerm, from);
        } else {
            node.electionTimeout.reset();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Leader: replies and commitment
    // ---------------------------------------------------------------------------------------------

    void handleAppendEntriesReply(AppendEntriesReply r) {
        if (node.role != Role.LEADER) {
            return;
        }
        MessageValidator.Reason invalid = MessageValidator.checkAgainstLeaderLog(r, node.log.lastIndex());
        if (invalid != null) {
            node.refuse(r, invalid);
            return;
        }
        Progress pr = node.leader.progress(r.from());
        if (pr == null) {
            LOG.debug("{} dropped {} (not a member of {})", node.id, r, node.membership.current());
            return;
        }
        pr.recentActive = true;
        if (pr.state == Progress.State.SNAPSHOT) {
            // Answers to AppendEntries sent before the snapshot: an acknowledgement still counts,
            // but the transfer decides what is sent next.
            if (r.success() && pr.acknowledge(r.matchIndex())) {
                maybeCommit();
            }
            return;
        }
        if (r.success()) {
            boolean wasProbe = pr.state == Progress.State.PROBE;
            long matchBefore = pr.matchIndex;
            boolean advanced = pr.acknowledge(r.matchIndex());
            if (advanced && matchBefore < node.log.commitIndex()) {
                // Every heartbeat so far capped this follower's commit index at its old matchIndex:
                // it has not heard that what it now holds is committed. If the commit index does
                // not move for this ack (the quorum was already there), flush tells it anyway.
                pr.commitUnknown = true;
            }
            if (wasProbe) {
                pr.becomeReplicate();
            }
            sendPending = true;
            if (advanced) {
                maybeCommit();
            }
            return;
        }
        boolean lossConfirmed = false;
        if (contradictsAcknowledgement(pr, r)) {
            if (!onContradictingRejection(pr, r)) {
                return;
            }
            lossConfirmed = true;
        }
        // A rejection answers one particular message; ignore answers to messages sent before we
        // moved on, and (while streaming) rejections of messages behind which an earlier one is
        // still in flight.
        boolean stale = !lossConfirmed && (pr.state == Progress.State.REPLICATE
                ? r.prevLogIndex() <= pr.matchIndex || !pr.rejectionAnswersOldestInflight(r.prevLogIndex())
                : r.prevLogIndex() != pr.nextIndex - 1);
        if (stale) {
            return;
        }
        long next = r.conflictIndex();
        if (r.conflictTerm() > 0) {
            long ours = node.log.lastIndexOfTerm(r.conflictTerm(), r.prevLogIndex());
            if (ours > 0) {
                next = ours + 1; // we hold that term: resume just after our last entry of it
            }
        }
        // Never past the rejected point, never at or below what is known to match.
        next = Math.min(next, r.prevLogIndex());
        pr.becomeProbe(Math.max(next, pr.matchIndex + 1));
        sendPending = true;
        LOG.debug("{} backs {} off to nextIndex {} after rejection at {}", node.id, r.from(), pr.nextIndex, r.prevLogIndex());
    }

    /**
     * Whether a rejection says the follower holds less than matchIndex, which it acknowledged as
     * durable: its log ends before matchIndex, or its entry at a prevLogIndex at or below
     * matchIndex differs from ours. No correct follower sends that after its acknowledgement.
     */
    private static boolean contradictsAcknowledgement(Progress pr, AppendEntriesReply r) {
        return r.conflictTerm() == 0 ? r.conflictIndex() - 1 < pr.matchIndex : r.prevLogIndex() <= pr.matchIndex;
    }

    /**
     * A rejection contradicts matchIndex. Either the follower lost entries it had acknowledged (its
     * disk was wiped or lost its tail), or the rejection was sent before that acknowledgement and
     * overtook it on a reordering network; the two look the same. Dropping every such rejection as
     * stale, as we used to, left a follower that lost its log unrepaired forever while the two
     * exchanged probes as fast as they could (issue 9, bug 2). So: a contradiction that answers a
     * message still outstanding makes the leader probe at matchIndex itself; a rejection of that
     * probe confirms the loss, and matchIndex goes down to what the follower still holds.
     *
     * <p>Safety does not depend on telling the two apart. Lowering matchIndex only makes the
     * leader's estimate more conservative: the commit index is the quorum of matchIndexes, and
     * {@link RaftLog#commitTo} never moves it backwards, so nothing committed is uncommitted and
     * nothing is committed on the strength of the old value (maybeCommit only ever raises the commit
     * index to a quorum of the current matchIndexes). Heartbeats cap the follower's commit index at
     * the new, lower matchIndex. The leader keeps every entry it committed (Leader Append-Only) and
     * sends them again. Whether those entries would survive this leader's failure depends on a
     * majority other than this follower still holding them: a node that forgets what it
     * acknowledged breaks Raft's durability assumption, and no leader can undo that (whether such
     * a node may vote again is the membership issue's question). A wrong guess costs one probe.
     *
     * @return whether to go on and handle it as an ordinary rejection (the loss is confirmed)
     */
    private boolean onContradictingRejection(Progress pr, AppendEntriesReply r) {
        boolean answersOutstanding = pr.state == Progress.State.PROBE
                ? r.prevLogIndex() == pr.nextIndex - 1
                : pr.inflightCount() == 0 || pr.rejectionAnswersOldestInflight(r.prevLogIndex());
        if (!answersOutstanding) {
            LOG.debug("{} ignored stale rejection from {} at {} ({})", node.id, r.from(), r.prevLogIndex(), pr);
            return false;
        }
        if (pr.state == Progress.State.PROBE && r.prevLogIndex() == pr.matchIndex) {
            long stillHeld = r.conflictIndex() - 1;
            LOG.warn("{} lost-durability: {} holds entries only up to {} in agreement with us, below the matchIndex {} "
                    + "it acknowledged as durable. matchIndex never decreases in a correct system: its disk lost "
                    + "acknowledged entries (or, on a reordering network, an old rejection overtook the "
                    + "acknowledgement). matchIndex {} -> {}; probing again", node.id, r.from(), stillHeld,
                    pr.matchIndex, pr.matchIndex, Math.min(pr.matchIndex, stillHeld));
            pr.lostDurability(stillHeld);
            return true;
        }
        LOG.debug("{} probing {} at its matchIndex (its rejection at {} says it holds less than it acknowledged)",
                node.id, pr, r.prevLogIndex());
        pr.probeToConfirmLoss();
        sendPending = true;
        return false;
    }

    void handleHeartbeatReply(HeartbeatReply r) {
        if (node.role != Role.LEADER) {
            return;
        }
        MessageValidator.Reason invalid = MessageValidator.checkReadRound(r, node.leader.readRound());
        if (invalid != null) {
            node.refuse(r, invalid);
            return;
        }
        Progress pr = node.leader.progress(r.from());
        if (pr == null) {
            return; // not a member (any more)
        }
        pr.recentActive = true;
        pr.probeSent = false; // a probe may have been lost; the next flush sends another
        // A full window is freed only by AppendEntries replies (thesis §10.2.2: pipelining within a
        // bounded window). A heartbeat reply says nothing about the AppendEntries still in flight,
        // and a heartbeat goes out on every commit advance, so freeing a slot here let the window
        // grow past maxInflightMessages/maxInflightBytes under load. Lost AppendEntries are
        // recovered by the stall check in onHeartbeatTimeout, which falls back to probing.
        if (pr.matchIndex < node.log.lastIndex() || pr.confirmingLoss) {
            sendPending = true;
        }
        node.reads.onHeartbeatReply(pr, r.readRound());
    }

    /**
     * Leaders (Figure 2): "If there exists an N such that N > commitIndex, a majority of
     * matchIndex[i] ≥ N, and log[N].term == currentTerm: set commitIndex = N (§5.3, §5.4)." The
     * leader's own matchIndex is its durable index, not its last index (thesis §10.2.1).
     */
    void maybeCommit() {
        long n = node.leader.quorumMatchIndex();
        if (n > node.log.commitIndex() && node.log.term(n) == node.currentTerm) {
            node.log.commitTo(n);
            commitAdvanced = true;
            node.reads.onCommitAdvanced();
            node.membership.onCommitAdvanced(); // may append C_new, or step down (thesis §4.3)
        }
    }
}
