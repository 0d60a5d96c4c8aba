package org.raftkit.core;

import org.raftkit.Role;
import org.raftkit.message.TimeoutNow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Leadership transfer (thesis §3.10): the leader hands leadership to a chosen voter, for a rolling
 * restart or to move the leader off a machine, without waiting for an election timeout.
 *
 * <ol>
 *   <li>The leader stops accepting proposals ({@link RaftNode#TRANSFERRING_LEADERSHIP}) and
 *       configuration changes, so the target can catch up with a log that no longer grows.</li>
 *   <li>It replicates to the target as usual until the target's matchIndex is its last index,
 *       then sends it {@link TimeoutNow}.</li>
 *   <li>The target starts an election at once, without PreVote; its RequestVotes say they come from
 *       a transfer, so voters that still hear from the old leader do not ignore them (thesis
 *       §4.2.3's rule is about disruptive servers, and this one was invited). Its log is as up to
 *       date as the old leader's and its term higher, so it normally wins.</li>
 *   <li>The transfer ends when this node hears of a leader of a later term: the target
 *       ({@link Result#SUCCEEDED}) or another ({@link Result#ANOTHER_LEADER}). After an election
 *       timeout without that, it is abandoned ({@link Result#TIMED_OUT}) and a leader that still
 *       leads takes proposals again.</li>
 * </ol>
 * One instance per transfer; the node holds it from the request until its {@link Outcome}.
 */
public final class LeadershipTransfer {

    private static final Logger LOG = LoggerFactory.getLogger(LeadershipTransfer.class);

    /** Why {@link RaftNode#transferLeadership} refused. */
    public enum Refusal {
        /** This node is not the leader. */
        NOT_LEADER,
        /** Another transfer is under way. */
        TRANSFER_IN_PROGRESS,
        /** The target is this node: it already leads. */
        ALREADY_LEADER,
        /** The target is not a voter of the latest configuration (a learner, or not a member). */
        TARGET_NOT_A_VOTER
    }

    /** How a transfer ended. */
    public enum Result {
        /** The target became leader. */
        SUCCEEDED,
        /** Another server became leader. */
        ANOTHER_LEADER,
        /** No new leader within an election timeout; a leader that still leads goes on. */
        TIMED_OUT,
        /** The target left the configuration meanwhile. */
        TARGET_REMOVED
    }

    /**
     * The answer to a transfer request.
     *
     * @param refusal null if the transfer started, else why not
     * @param detail  a human-readable explanation of a refusal, else empty
     */
    public record TransferRequest(Refusal refusal, String detail) {
        /** Whether the transfer started; its end comes as an {@link Outcome} in a later {@link Ready}. */
        public boolean isAccepted() {
            return refusal == null;
        }
    }

    /**
     * How a transfer this node started ended.
     *
     * @param target    the server leadership was to go to
     * @param result    how it ended
     * @param newLeader the leader this node heard of, or null
     */
    public record Outcome(String target, Result result, String newLeader) {
    }

    private final RaftNode node;
    private final String target;
    private int elapsedTicks;
    private boolean timeoutNowSent;

    private LeadershipTransfer(RaftNode node, String target) {
        this.node = node;
        this.target = target;
    }

    /** The server leadership is to go to. */
    public String target() {
        return target;
    }

    static TransferRequest start(RaftNode node, String target) {
        if (node.role != Role.LEADER) {
            return new TransferRequest(Refusal.NOT_LEADER, node.id + " is not the leader");
        }
        if (node.transfer != null) {
            return new TransferRequest(Refusal.TRANSFER_IN_PROGRESS, "already handing leadership to "
                    + node.transfer.target);
        }
        if (node.id.equals(target)) {
            return new TransferRequest(Refusal.ALREADY_LEADER, target + " already leads");
        }
        Configuration c = node.membership.current();
        if (!c.voters().contains(target)) {
            return new TransferRequest(Refusal.TARGET_NOT_A_VOTER, target + " is not a voter of " + c);
        }
        node.transfer = new LeadershipTransfer(node, target);
        LOG.info("{} hands leadership to {} at term {}", node.id, target, node.currentTerm);
        node.transfer.maybeSendTimeoutNow();
        return new TransferRequest(null, "");
    }

    /** Once per tick: give up after the maximum election timeout. */
    void onTick() {
        if (++elapsedTicks >= node.config.electionTimeoutMaxTicks()) {
            finish(Result.TIMED_OUT, node.leaderId);
        }
    }

    /** After every input on the leader: once the target holds the whole log, tell it to campaign. */
    void maybeSendTimeoutNow() {
        if (node.role != Role.LEADER || timeoutNowSent) {
            return;
        }
        Progress pr = node.leader.progress(target);
        if (pr == null || !node.membership.current().voters().contains(target)) {
            finish(Result.TARGET_REMOVED, node.id);
            return;
        }
        if (pr.matchIndex == node.log.lastIndex()) {
            timeoutNowSent = true;
            node.leader.forfeitLease();
            node.send(new TimeoutNow(node.id, target, node.currentTerm));
            LOG.info("{} sent TimeoutNow to {} at term {} (it holds the whole log, up to {})", node.id, target,
                    node.currentTerm, pr.matchIndex);
        }
    }

    /** This node learned of a leader: the transfer is over, one way or the other. */
    void onLeader(String leader) {
        finish(leader.equals(target) ? Result.SUCCEEDED : Result.ANOTHER_LEADER, leader);
    }

    private void finish(Result result, String leader) {
        node.transfer = null;
        node.transferOutcomes.add(new Outcome(target, result, leader));
        LOG.info("{}: leadership transfer to {} ended: {}{}", node.id, target, result,
                leader == null ? "" : " (leader " + leader + ")");
    }

    @Override
    public String toString() {
        return "LeadershipTransfer{to " + target + " after " + elapsedTicks + " ticks"
                + (timeoutNowSent ? ", TimeoutNow sent" : "") + "}";
    }
}
