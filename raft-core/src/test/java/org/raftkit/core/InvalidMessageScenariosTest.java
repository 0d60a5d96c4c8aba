package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.raftkit.Role;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.Entry;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.HeartbeatReply;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.message.ReadIndexRequest;
import org.raftkit.core.MessageValidator.Reason;

/**
 * Defence in depth (issue 15): a buggy or compromised member sends one forged message, and the
 * receiver must neither stop, nor break an invariant, nor do what no correct message could make it
 * do. Each test is named after the attack. The last one shows what a well-formed forgery still
 * does without authentication.
 */
class InvalidMessageScenariosTest {

    /** n1 leads n2 and n3; "a" and "b" are committed and every node knows it. */
    private static ScenarioCluster threeNodesLedByN1WithTwoWrites() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        cluster.proposeTogether("n1", "a", "b");
        cluster.deliverAll();
        cluster.runTicks(cluster.config().heartbeatIntervalTicks());
        assertThat(cluster.node("n2").commitIndex()).isEqualTo(cluster.node("n1").lastIndex());
        return cluster;
    }

    private static long rejected(ScenarioCluster cluster, String id, Reason reason) {
        return cluster.node(id).rejectedMessages().getOrDefault(reason, 0L);
    }

    @Test
    void forgedAppendEntriesWithHugeLeaderCommitDoesNotCommitUnverifiedEntries() {
        // n2 holds entries 3 and 4 from term 1 that were never committed; n1's log stops at 2.
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3")
                .log("n1", 1, 1).log("n2", 1, 1, 1, 1).log("n3", 1, 1).build();

        // n3 claims to lead term 2, matches n2 at index 2, and says everything is committed.
        cluster.inject(new AppendEntries("n3", "n2", 2, 2, 1, List.of(), Long.MAX_VALUE / 4));

        // Figure 2, rule 5: min(leaderCommit, index of last new entry). Only 1..2 were verified.
        assertThat(cluster.node("n2").commitIndex()).isEqualTo(2);
        assertThat(cluster.applied("n2")).extracting(Entry::index).containsExactly(1L, 2L);
    }

    @Test
    void forgedHeartbeatWithHugeCommitDoesNotCommitEntriesNotVerifiedAgainstTheLeader() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3")
                .log("n1", 1, 1).log("n2", 1, 1, 1, 1).log("n3", 1, 1).build();

        // A heartbeat carries nothing to check n2's log against: none of its entries is of term 2.
        cluster.inject(new Heartbeat("n3", "n2", 2, 1_000_000, 0));

        assertThat(cluster.node("n2").commitIndex()).as("nothing n2 holds is known to match term 2's leader")
                .isZero();
        assertThat(cluster.applied("n2")).isEmpty();
    }

    @Test
    void heartbeatAtMaxTermIsRefused() {
        ScenarioCluster cluster = threeNodesLedByN1WithTwoWrites();
        long term = cluster.node("n1").currentTerm();

        cluster.inject(new Heartbeat("n3", "n1", Long.MAX_VALUE, 0, 0));
        cluster.inject(new Heartbeat("n3", "n2", MessageValidator.MAX_TERM + 1, 0, 0));

        assertThat(cluster.node("n1").role()).as("the leader was not deposed").isEqualTo(Role.LEADER);
        assertThat(cluster.node("n1").currentTerm()).isEqualTo(term);
        assertThat(cluster.node("n2").currentTerm()).isEqualTo(term);
        assertThat(rejected(cluster, "n1", Reason.TERM_OUT_OF_RANGE)).isEqualTo(1);
        assertThat(rejected(cluster, "n2", Reason.TERM_OUT_OF_RANGE)).isEqualTo(1);
        // Still a working cluster.
        long c = cluster.propose("n1", "c");
        cluster.deliverAll();
        assertThat(cluster.node("n1").commitIndex()).isEqualTo(c);
    }

    @Test
    void entryConflictingWithCommittedEntryIsRejectedNotFatal() {
        ScenarioCluster cluster = threeNodesLedByN1WithTwoWrites();
        RaftNode n2 = cluster.node("n2");
        long term = n2.currentTerm();
        List<Entry> before = cluster.log("n2");

        // n3, claiming to lead the next term, rewrites committed index 2 and appends after it.
        Entry rewritten = Entry.command(2, term + 1, ScenarioCluster.bytes("evil"));
        Entry appended = Entry.command(3, term + 1, ScenarioCluster.bytes("more evil"));
        cluster.inject(new AppendEntries("n3", "n2", term + 1, 1, term, List.of(rewritten, appended), 0));

        assertThat(cluster.isRunning("n2")).isTrue();
        assertThat(cluster.log("n2")).as("committed entries untouched").isEqualTo(before);
        assertThat(n2.currentTerm()).as("refused before it could raise the term").isEqualTo(term);
        assertThat(rejected(cluster, "n2", Reason.CONFLICTS_WITH_COMMITTED_ENTRY)).isEqualTo(1);
        assertThat(cluster.inFlight()).as("no acknowledgement of the forged entries")
                .noneMatch(m -> m instanceof AppendEntriesReply r && r.to().equals("n3"));
    }

    @Test
    void replyClaimingUnsentIndexIsIgnored() {
        ScenarioCluster cluster = threeNodesLedByN1WithTwoWrites();
        RaftNode n1 = cluster.node("n1");
        long last = n1.lastIndex();
        long commit = n1.commitIndex();

        // n2 claims to hold 100 entries past the end of the leader's log.
        cluster.inject(AppendEntriesReply.success("n2", "n1", n1.currentTerm(), last, last + 100));

        assertThat(n1.role()).isEqualTo(Role.LEADER);
        assertThat(n1.matchIndexOf("n2")).isEqualTo(last);
        assertThat(n1.commitIndex()).isEqualTo(commit);
        assertThat(rejected(cluster, "n1", Reason.REPLY_BEYOND_LEADER_LOG)).isEqualTo(1);
        long c = cluster.propose("n1", "c");
        cluster.deliverAll();
        assertThat(n1.commitIndex()).isEqualTo(c);
    }

    @Test
    void appendEntriesWithAGapIsRefused() {
        ScenarioCluster cluster = threeNodesLedByN1WithTwoWrites();
        RaftNode n2 = cluster.node("n2");
        long last = n2.lastIndex();
        long term = n2.currentTerm();

        // From the real leader's address, entries at last + 1 and last + 3: index last + 2 is missing.
        cluster.inject(new AppendEntries("n1", "n2", term, last, term,
                List.of(Entry.command(last + 1, term, ScenarioCluster.bytes("x")),
                        Entry.command(last + 3, term, ScenarioCluster.bytes("y"))), 0));

        assertThat(n2.lastIndex()).isEqualTo(last);
        assertThat(rejected(cluster, "n2", Reason.ENTRIES_NOT_CONTIGUOUS)).isEqualTo(1);
    }

    @Test
    void entryFromAFutureTermInsideAnAppendEntriesIsRefused() {
        ScenarioCluster cluster = threeNodesLedByN1WithTwoWrites();
        RaftNode n2 = cluster.node("n2");
        long last = n2.lastIndex();
        long term = n2.currentTerm();

        // Once stored, an entry of term + 5 would win every election restriction check (§5.4.1).
        cluster.inject(new AppendEntries("n1", "n2", term, last, term,
                List.of(Entry.command(last + 1, term + 5, ScenarioCluster.bytes("x"))), 0));

        assertThat(n2.lastIndex()).isEqualTo(last);
        assertThat(rejected(cluster, "n2", Reason.LOG_TERM_ABOVE_MESSAGE_TERM)).isEqualTo(1);
    }

    @Test
    void entryTermsGoingBackwardsAreRefused() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.inject(new AppendEntries("n1", "n2", 3, 0, 0,
                List.of(Entry.command(1, 3, ScenarioCluster.bytes("x")), Entry.command(2, 2, ScenarioCluster.bytes("y"))),
                0));

        assertThat(cluster.node("n2").lastIndex()).isZero();
        assertThat(rejected(cluster, "n2", Reason.ENTRY_TERMS_DECREASE)).isEqualTo(1);
    }

    @Test
    void forgedHeartbeatReplyForAFutureReadRoundDoesNotConfirmReads() {
        ScenarioCluster cluster = threeNodesLedByN1WithTwoWrites();
        RaftNode n1 = cluster.node("n1");

        cluster.hold(m -> true); // from now on nothing real arrives anywhere

        // n2 "confirms" ReadIndex rounds the leader has not started yet...
        cluster.inject(new HeartbeatReply("n2", "n1", n1.currentTerm(), 1_000));
        // ...so that a read started later, which no majority has confirmed, would be answered at
        // the next heartbeat reply, even an old one.
        cluster.readIndex("n1", 42);
        cluster.inject(new HeartbeatReply("n2", "n1", n1.currentTerm(), 0));

        assertThat(cluster.readStates("n1")).as("no read confirmed without a majority").isEmpty();
        assertThat(rejected(cluster, "n1", Reason.READ_ROUND_NOT_STARTED)).isEqualTo(1);
    }

    @Test
    void readIndexAnswerFromANodeThatIsNotTheLeaderIsIgnored() {
        ScenarioCluster cluster = threeNodesLedByN1WithTwoWrites();
        cluster.hold(m -> m instanceof ReadIndexRequest);
        cluster.readIndex("n2", 7); // forwarded to n1, held on the way

        // n3 answers in n1's place, with a read index that would serve a stale read.
        cluster.inject(new ReadIndexReply("n3", "n2", cluster.node("n2").currentTerm(), 7, true, 0));

        assertThat(cluster.readStates("n2")).isEmpty();
        assertThat(rejected(cluster, "n2", Reason.READ_REPLY_NOT_FROM_LEADER)).isEqualTo(1);
        cluster.release();
        cluster.deliverAll();
        assertThat(cluster.readStates("n2")).extracting(ReadState::context).containsExactly(7L);
    }

    /**
     * The limit of validation without authentication: a forgery that is well formed is a message
     * a correct member could have sent. One AppendEntries at term + 1 from another member makes the
     * receiver follow it; sent to a majority it deposes the leader. TLS between members is what
     * keeps outsiders from doing this (ARCHITECTURE.md, "Trust between members").
     */
    @Test
    void aWellFormedForgeryAtTheNextTermStillDeposesTheLeader() {
        ScenarioCluster cluster = threeNodesLedByN1WithTwoWrites();
        long term = cluster.node("n1").currentTerm();

        cluster.inject(new Heartbeat("n3", "n1", term + 1, 0, 0));

        assertThat(cluster.node("n1").role()).isEqualTo(Role.FOLLOWER);
        assertThat(cluster.node("n1").currentTerm()).isEqualTo(term + 1);
        assertThat(cluster.node("n1").rejectedMessages()).isEmpty();
    }
}
