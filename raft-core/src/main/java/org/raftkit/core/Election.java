package org.raftkit.core;

import java.util.HashSet;
import java.util.Set;

import org.raftkit.Role;
import org.raftkit.message.RequestVote;
import org.raftkit.message.RequestVoteReply;
import org.raftkit.message.TimeoutNow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Leader election (§5.2), the election restriction (§5.4.1), PreVote (thesis §9.6), and the
 * election a leadership transfer asks for (thesis §3.10). A candidate asks the voters of its latest
 * configuration, both parts while joint, and wins with a majority of each (thesis §4.3).
 */
final class Election {

    private static final Logger LOG = LoggerFactory.getLogger(Election.class);

    private final RaftNode node;

    Election(RaftNode node) {
        this.node = node;
    }

    /**
     * Followers (§5.2): "If election timeout elapses without receiving AppendEntries RPC from current
     * leader or granting vote to candidate: convert to candidate." With PreVote, first ask whether
     * an election could be won, so a node that cannot win does not raise everyone's term.
     */
    void onElectionTimeout() {
        if (node.config.preVote()) {
            campaignPreVote();
        } else {
            campaign();
        }
    }

    private void campaignPreVote() {
        node.becomePreCandidate();
        long nextTerm = node.currentTerm + 1;
        node.tally.grant(node.id);
        if (tallyDecided()) {
            return;
        }
        for (String peer : node.membership.current().allVoters()) {
            if (!peer.equals(node.id)) {
                node.send(new RequestVote(node.id, peer, nextTerm, node.log.lastIndex(), node.log.lastTerm(), true));
            }
        }
    }

    /** §5.2: increment currentTerm, vote for self, send RequestVote RPCs to all other servers. */
    void campaign() {
        campaign(false);
    }

    /**
     * @param transfer whether leadership transfer asked for this election (thesis §3.10): its
     *                 RequestVotes say so, and voters that hear from the old leader answer them
     */
    private void campaign(boolean transfer) {
        node.becomeCandidate();
        node.tally.grant(node.id);
        if (tallyDecided()) {
            return;
        }
        for (String peer : node.membership.current().allVoters()) {
            if (!peer.equals(node.id)) {
                node.send(new RequestVote(node.id, peer, node.currentTerm, node.log.lastIndex(), node.log.lastTerm(),
                        false, transfer));
            }
        }
    }

    /**
     * TimeoutNow (thesis §3.10): our leader has brought our log up to date and asks us to campaign
     * at once, without PreVote. Only the leader of our term may ask, and only a voter campaigns.
     */
    void handleTimeoutNow(TimeoutNow t) {
        MessageValidator.Reason invalid = MessageValidator.checkTimeoutNow(t, node.leaderId);
        if (invalid != null) {
            node.refuse(t, invalid);
            return;
        }
        if (!node.membership.canCampaign()) {
            LOG.info("{} ignored TimeoutNow from {} at term {} (not a voter of {})", node.id, t.from(), t.term(),
                    node.membership.current());
            return;
        }
        LOG.info("{} campaigns at once: TimeoutNow from leader {} at term {}", node.id, t.from(), t.term());
        campaign(true);
    }

    /**
     * RequestVote receiver (Figure 2): "1. Reply false if term < currentTerm (§5.1) [done in step].
     * 2. If votedFor is null or candidateId, and candidate's log is at least as up-to-date as
     * receiver's log, grant vote (§5.2, §5.4)."
     *
     * <p>A PreVote is granted on the same log condition when it asks about a later term, and
     * changes nothing here (thesis §9.6).
     */
    void handleRequestVote(RequestVote rv) {
        boolean logOk = node.log.isUpToDate(rv.lastLogIndex(), rv.lastLogTerm());
        boolean canVote;
        if (rv.preVote()) {
            canVote = rv.term() > node.currentTerm
                    || (rv.term() == node.currentTerm && rv.from().equals(node.votedFor));
        } else {
            canVote = rv.from().equals(node.votedFor) || (node.votedFor == null && node.leaderId == null);
        }
        String kind = rv.preVote() ? "PreVote" : "RequestVote";
        if (!canVote || !logOk) {
            String why = !canVote ? "already voted for " + node.votedFor : "log not up to date";
            LOG.info("{} rejected {} from {} at term {} ({})", node.id, kind, rv.from(), rv.term(), why);
            node.send(new RequestVoteReply(node.id, rv.from(), node.currentTerm, false, rv.preVote()));
            return;
        }
        if (rv.preVote()) {
            node.send(new RequestVoteReply(node.id, rv.from(), rv.term(), true, true));
        } else {
            node.votedFor = rv.from();
            node.markTermAndVoteChanged();
            // Granting a vote resets the election timer (Figure 2, Followers).
            node.electionTimeout.reset(node.randomElectionTimeoutTicks());
            node.send(new RequestVoteReply(node.id, rv.from(), node.currentTerm, true, false));
        }
        LOG.info("{} granted {} to {} at term {}", node.id, kind, rv.from(), rv.term());
    }

    void handleRequestVoteReply(RequestVoteReply r) {
        boolean expected = r.preVote() ? node.role == Role.PRE_CANDIDATE : node.role == Role.CANDIDATE;
        if (!expected || node.tally == null) {
            return; // a late answer to an earlier campaign
        }
        if (r.preVote() && r.voteGranted() && r.term() != node.currentTerm + 1) {
            return; // granted for another round
        }
        if (r.voteGranted()) {
            node.tally.grant(r.from());
        } else {
            node.tally.reject(r.from());
        }
        tallyDecided();
    }

    /** Acts on the tally if it is decided; returns whether it was. */
    private boolean tallyDecided() {
        Quorum.VoteResult result = node.tally.result();
        if (result == Quorum.VoteResult.WON) {
            if (node.role == Role.PRE_CANDIDATE) {
                campaign();
            } else {
                node.becomeLeader();
            }
            return true;
        }
        if (result == Quorum.VoteResult.LOST) {
            LOG.info("{} lost the {} at term {}", node.id,
                    node.role == Role.PRE_CANDIDATE ? "PreVote" : "election", node.currentTerm);
            node.becomeFollower(node.currentTerm, null);
            return true;
        }
        return false;
    }

    /**
     * Whether this node has heard from a live leader within the minimum election timeout. While it
     * has, it refuses to help elect another (thesis §4.2.3 and §9.6).
     */
    boolean inLeaderLease() {
        if (node.config.leaseReads() && node.ticks < node.config.electionTimeoutMinTicks()) {
            // Just started: this node may have heard from a leader before it stopped and forgotten
            // it; that leader's lease may count on this node's refusal (thesis §6.4.1).
            return true;
        }
        if (node.role == Role.LEADER) {
            // A leader hears from the current leader: itself. With PreVote on it must refuse like its
            // followers do, or in a three-node cluster its PreVote grant alone gives a rejoining
            // server a majority, and the real RequestVote that follows deposes it (thesis §9.6,
            // §4.2.3). Hence preVote here too, not only checkQuorum.
            return node.config.checkQuorum() || node.config.preVote();
        }
        return node.leaderId != null && node.electionTimeout.elapsedTicks() < node.config.electionTimeoutMinTicks()
                && (node.config.checkQuorum() || node.config.preVote());
    }

    /** Votes received in one campaign, counted against the candidate's configuration. */
    static final class Tally {
        private final Configuration configuration;
        private final Set<String> granted = new HashSet<>();
        private final Set<String> rejected = new HashSet<>();

        Tally(Configuration configuration) {
            this.configuration = configuration;
        }

        void grant(String from) {
            if (!rejected.contains(from)) {
                granted.add(from);
            }
        }

        void reject(String from) {
            if (!granted.contains(from)) {
                rejected.add(from);
            }
        }

        Quorum.VoteResult result() {
            return Quorum.voteResult(configuration, granted, rejected);
        }
    }
}
