package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.function.Predicate;

import org.junit.jupiter.api.Test;
import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.Entry;
import org.raftkit.message.RaftMessage;

/**
 * Figure 8 of the Raft paper (§5.4.2): "a leader cannot immediately conclude that an entry from a
 * previous term is committed once it is stored on a majority of servers."
 *
 * <p>The figure's sequence, replayed with real elections. Every leader here appends a no-op when
 * its term starts (§8), so the terms are one lower than the figure's and index 1 is the first
 * leader's no-op; the shape is the same:
 * <pre>
 *   (a) S1 leads term 1 and replicates entry x (index 2, term 1) to S2 only.
 *   (b) S1 crashes. S5 wins term 2 with the votes of S3, S4 and itself, appends its no-op at index
 *       2 (term 2), and crashes before sending it.
 *   (c) S1 restarts and wins term 3 (S2, S3, S4). It replicates x to S3: x is now on S1, S2 and
 *       S3, a majority, but x is not committed, because no entry of term 3 is on a majority.
 *   (d) S1 crashes. S5 restarts and wins term 4 (S3, S4: its last term 2 beats their last term 1)
 *       and overwrites x everywhere. Had S1 counted replicas in (c), a committed entry would now be
 *       lost.
 *   (e) Instead: in (c) S1 also gets its term-3 no-op onto S3. That commits index 3, and x with
 *       it; S5 can then never be elected, and x survives S1's crash.
 * </pre>
 * PreVote and CheckQuorum are off (the figure is about the base algorithm), and AppendEntries carry
 * one entry each so x can reach S3 without the no-op behind it.
 */
class Figure8CommitmentTest {

    private static final RaftConfig CONFIG = RaftConfig.defaults()
            .withPreVote(false)
            .withCheckQuorum(false)
            .withMaxAppend(1, RaftConfig.DEFAULT_MAX_APPEND_BYTES);

    private static final List<String> SERVERS = List.of("S1", "S2", "S3", "S4", "S5");

    @Test
    void entryOfAnOldTermOnAMajorityIsNotCommittedAndCanBeOverwritten() {
        ScenarioCluster cluster = throughFigure8c(false);

        // (c) x is on a majority and the leader knows it ...
        RaftNode s1 = cluster.node("S1");
        assertThat(s1.matchIndexOf("S2")).isEqualTo(3);
        assertThat(s1.matchIndexOf("S3")).isEqualTo(2);
        assertThat(List.of("S1", "S2", "S3")).allSatisfy(id -> assertThat(cluster.node(id).termAt(2)).isEqualTo(1));
        // ... but counting replicas does not commit it: index 2 is of term 1, not the current term 3.
        // (Restarted, S1 does not even know index 1 is committed: that too waits for term 3.)
        assertThat(s1.commitIndex()).isLessThan(2);
        assertThat(cluster.everAppliedCommands("S1")).doesNotContain("x");

        // (d) S1 crashes; S5 comes back and is elected in term 4 by S3 and S4.
        cluster.crash("S1");
        cluster.heal();
        cluster.restart("S5");
        cluster.electLeader("S5");
        assertThat(cluster.node("S5").currentTerm()).isEqualTo(4);
        cluster.runTicks(CONFIG.heartbeatIntervalTicks());

        // x, once on a majority, is gone from every running log; S5's entry of term 2 replaced it.
        for (String id : List.of("S2", "S3", "S4", "S5")) {
            assertThat(cluster.logTerms(id)).as("log of %s", id).containsExactly(1L, 2L, 4L);
            assertThat(cluster.node(id).commitIndex()).as("commitIndex of %s", id).isEqualTo(3);
        }
        // S1 comes back too and is repaired the same way.
        cluster.restart("S1");
        cluster.runTicks(2 * CONFIG.heartbeatIntervalTicks());
        assertThat(cluster.logTerms("S1")).containsExactly(1L, 2L, 4L);
        // Because x was never committed, nothing was lost: no server ever applied it.
        for (String id : SERVERS) {
            assertThat(cluster.everAppliedCommands(id)).as("applied by %s", id).doesNotContain("x");
        }
    }

    @Test
    void entryOfTheCurrentTermOnAMajorityCommitsTheOldEntryBeforeIt() {
        ScenarioCluster cluster = throughFigure8c(true);

        // (e) The term-3 no-op is on S1, S2 and S3: committing it commits x at index 2 (§5.4.2).
        RaftNode s1 = cluster.node("S1");
        assertThat(s1.commitIndex()).isEqualTo(3);
        assertThat(cluster.appliedCommands("S1")).containsExactly("x");

        // S1 crashes. S5 cannot win any more: S2 and S3 hold a later last term (§5.4.1).
        cluster.crash("S1");
        cluster.heal();
        cluster.restart("S5");
        for (int campaign = 0; campaign < 5; campaign++) {
            cluster.tickUntilCampaign("S5");
            cluster.deliverAll();
            assertThat(cluster.node("S5").role()).isNotEqualTo(Role.LEADER);
        }

        // A server holding x is elected, and x reaches every state machine.
        cluster.electLeader("S2");
        cluster.runTicks(CONFIG.heartbeatIntervalTicks());
        cluster.restart("S1");
        cluster.runTicks(2 * CONFIG.heartbeatIntervalTicks());
        for (String id : SERVERS) {
            assertThat(cluster.node(id).termAt(2)).as("term at index 2 on %s", id).isEqualTo(1);
            assertThat(cluster.appliedCommands(id)).as("applied by %s", id).containsExactly("x");
        }
    }

    /**
     * Plays steps (a) to (c). If {@code currentTermEntryReachesS3}, S3 also receives the term-3
     * no-op that follows x (the start of (e)); otherwise that message is lost.
     */
    private static ScenarioCluster throughFigure8c(boolean currentTermEntryReachesS3) {
        ScenarioCluster cluster = ScenarioCluster.builder(SERVERS.toArray(String[]::new)).config(CONFIG).build();
        cluster.electLeader("S1");
        cluster.runTicks(CONFIG.heartbeatIntervalTicks());
        assertThat(cluster.node("S1").currentTerm()).isEqualTo(1);

        // (a) S1 replicates x to S2 only.
        cluster.loseIf(m -> m instanceof AppendEntries && m.from().equals("S1") && !m.to().equals("S2"));
        assertThat(cluster.propose("S1", "x")).isEqualTo(2);
        cluster.deliverAll();
        assertThat(cluster.logTerms("S1")).containsExactly(1L, 1L);
        assertThat(cluster.logTerms("S2")).containsExactly(1L, 1L);
        assertThat(cluster.logTerms("S3")).containsExactly(1L);
        assertThat(cluster.node("S1").commitIndex()).isEqualTo(1);

        // (b) S1 crashes; S5 is elected in term 2 by S3, S4 and itself (S2's log is more up to date).
        cluster.crash("S1");
        cluster.heal();
        electWithVotesOnly(cluster, "S5");
        assertThat(cluster.node("S5").currentTerm()).isEqualTo(2);
        assertThat(cluster.node("S2").votedFor()).isNull();
        assertThat(cluster.logTerms("S5")).containsExactly(1L, 2L);
        cluster.crash("S5"); // before any of its AppendEntries leave
        cluster.dropQueuedIf(m -> m.from().equals("S5"));
        assertThat(cluster.storedLog("S5")).extracting(Entry::term).containsExactly(1L, 2L);

        // (c) S1 restarts and is elected in term 3. Its term-2 campaign fails: S3 and S4 voted for S5.
        cluster.restart("S1");
        cluster.loseIf(m -> m instanceof AppendEntries && m.from().equals("S1") && m.to().equals("S4"));
        electWithVotesOnly(cluster, "S1");
        assertThat(cluster.node("S1").currentTerm()).isEqualTo(3);
        assertThat(cluster.logTerms("S1")).containsExactly(1L, 1L, 3L);

        // S3 lacks index 2, so it rejects the first probe; the leader backs off and sends x alone.
        deliverOne(cluster, m -> m instanceof AppendEntries && m.to().equals("S3"));
        deliverOne(cluster, m -> m instanceof AppendEntriesReply r && r.from().equals("S3") && !r.success());
        deliverOne(cluster, m -> m instanceof AppendEntries ae && ae.to().equals("S3") && ae.prevLogIndex() == 1);
        deliverOne(cluster, m -> m instanceof AppendEntriesReply r && r.from().equals("S3") && r.matchIndex() == 2);
        assertThat(cluster.logTerms("S3")).containsExactly(1L, 1L);
        if (!currentTermEntryReachesS3) {
            cluster.drop("S1", "S3");
        }
        cluster.deliverAll(); // S2 takes the no-op of term 3
        assertThat(cluster.logTerms("S2")).containsExactly(1L, 1L, 3L);
        assertThat(cluster.logTerms("S4")).containsExactly(1L);
        return cluster;
    }

    /** Ticks {@code id} through campaigns, delivering only vote traffic, until it leads. */
    private static void electWithVotesOnly(ScenarioCluster cluster, String id) {
        for (int campaign = 0; campaign < 10 && cluster.node(id).role() != Role.LEADER; campaign++) {
            cluster.tickUntilCampaign(id);
            cluster.deliverWhile(ScenarioCluster::isVoteTraffic);
        }
        assertThat(cluster.node(id).role()).isEqualTo(Role.LEADER);
    }

    private static void deliverOne(ScenarioCluster cluster, Predicate<RaftMessage> which) {
        assertThat(cluster.deliverNext(which)).as("a matching message is in flight: %s", cluster.inFlight()).isTrue();
    }
}
