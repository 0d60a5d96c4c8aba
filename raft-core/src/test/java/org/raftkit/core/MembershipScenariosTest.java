package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.core.Configuration.Member;
import org.raftkit.core.Membership.Refusal;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
import org.raftkit.message.RaftMessage;

/**
 * Membership changes (thesis chapter 4), one rule per test: configurations in the log (§4.1),
 * joint consensus (§4.3), one change at a time, no change before the leader's first commit,
 * learners, and removed servers (§4.2.2, §4.2.3). The rules are listed in {@link Membership}.
 */
class MembershipScenariosTest {

    private static final int LONG = 10 * RaftConfig.defaults().electionTimeoutMaxTicks();

    // ---------------------------------------------------------------------------------------------
    // Adding a server: learner first, then promotion
    // ---------------------------------------------------------------------------------------------

    @Test
    void aJoiningServerTakesNoPartUntilAddedThenCatchesUpAsALearnerAndIsPromoted() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4").joining("n4").build();
        cluster.electLeader("n1");
        cluster.propose("n1", "x");
        cluster.deliverAll();

        // Waiting to be added, n4 has no configuration and never campaigns.
        cluster.runTicks(LONG);
        assertThat(cluster.node("n4").configuration()).isEqualTo(Configuration.EMPTY);
        assertThat(cluster.node("n4").currentTerm()).isZero();
        assertThat(cluster.leader()).isEqualTo("n1");

        RaftNode leader = cluster.node("n1");
        Membership.ChangeResult add = cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                with(leader.configuration(), Member.learner("n4", "host4:7001")));
        assertThat(add.isAccepted()).as(add.detail()).isTrue();
        // Only learners move: no quorum changes, so C_new goes in directly, without C_old,new.
        assertThat(cluster.node("n1").configuration().isJoint()).isFalse();
        cluster.deliverAll();

        assertThat(cluster.node("n4").configuration().member("n4").kind()).isEqualTo(Configuration.Kind.LEARNER);
        assertThat(cluster.log("n4")).isEqualTo(cluster.log("n1"));
        assertThat(completedChanges(cluster, "n1")).containsExactly(add.index());

        // A learner never campaigns, however long it hears nothing.
        cluster.isolate("n4");
        cluster.runTicks(LONG);
        assertThat(cluster.node("n4").role()).isEqualTo(Role.FOLLOWER);
        assertThat(cluster.sent()).noneMatch(m -> m.from().equals("n4") && ScenarioCluster.isVoteTraffic(m)
                && m instanceof org.raftkit.message.RequestVote);
        cluster.heal();
        cluster.runTicks(5);

        Membership.ChangeResult promote = cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                promoted(leader.configuration(), "n4"));
        assertThat(promote.isAccepted()).as(promote.detail()).isTrue();
        assertThat(leader.configuration().isJoint()).isTrue();
        cluster.deliverAll();
        cluster.runTicks(3);

        for (String id : List.of("n1", "n2", "n3", "n4")) {
            assertThat(cluster.node(id).configuration().voters()).as(id).containsExactly("n1", "n2", "n3", "n4");
            assertThat(cluster.node(id).configuration().isJoint()).as(id).isFalse();
        }
        assertThat(completedChanges(cluster, "n1")).containsExactly(add.index(), promote.index());
        // C_old,new, then C_new, both committed, in the log of every member.
        assertThat(configurationEntries(cluster, "n4")).hasSize(3);
    }

    @Test
    void promotionIsRefusedUntilTheLearnerIsWithinTheConfiguredDistance() {
        RaftConfig config = RaftConfig.defaults().withMaxPromotionLagEntries(2);
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4").joining("n4").config(config).build();
        cluster.electLeader("n1");
        RaftNode leader = cluster.node("n1");
        assertThat(cluster.changeConfiguration(leader.id(), 0, with(leader.configuration(), Member.learner("n4", "")))
                .isAccepted()).isTrue();
        cluster.deliverAll();

        cluster.isolate("n4");
        for (int i = 0; i < 5; i++) {
            cluster.propose("n1", "w" + i);
        }
        cluster.deliverAll();
        Membership.ChangeResult early = cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                promoted(leader.configuration(), "n4"));
        assertThat(early.refusal()).isEqualTo(Refusal.LEARNER_NOT_CAUGHT_UP);
        assertThat(early.detail()).contains("more than 2 behind");

        // Adding a brand-new server directly as a voter is refused the same way: it must learn first.
        Membership.ChangeResult direct = cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                with(leader.configuration(), Member.voter("n5", "")));
        assertThat(direct.refusal()).isEqualTo(Refusal.LEARNER_NOT_CAUGHT_UP);
        assertThat(direct.detail()).contains("not a learner yet");

        cluster.heal();
        cluster.runUntil(LONG, () -> leader.matchIndexOf("n4") == leader.lastIndex());
        assertThat(cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                promoted(leader.configuration(), "n4")).isAccepted()).isTrue();
    }

    // ---------------------------------------------------------------------------------------------
    // Joint consensus
    // ---------------------------------------------------------------------------------------------

    @Test
    void whileJointNothingCommitsWithoutAMajorityOfTheNewConfiguration() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4", "n5").joining("n4", "n5").build();
        cluster.electLeader("n1");
        RaftNode leader = cluster.node("n1");
        addLearners(cluster, "n1", "n4", "n5");

        // Replace n2 and n3 by n4 and n5: C_new = {n1, n4, n5}.
        List<Member> target = List.of(Member.voter("n1", ""), Member.voter("n4", ""), Member.voter("n5", ""));
        cluster.isolate("n4");
        cluster.isolate("n5");
        Membership.ChangeResult change = cluster.changeConfiguration(leader.id(), leader.configurationIndex(), target);
        assertThat(change.isAccepted()).as(change.detail()).isTrue();
        long commitBefore = leader.commitIndex();
        assertThat(cluster.propose("n1", "stuck")).isPositive();
        // Less than an election timeout: with CheckQuorum the leader would then step down, for it
        // hears from no majority of C_new either.
        cluster.runTicks(RaftConfig.defaults().electionTimeoutMinTicks() - 1);

        // C_old (n1, n2, n3) holds C_old,new, but C_new's majority cannot: nothing commits.
        assertThat(cluster.node("n2").lastIndex()).isEqualTo(change.index() + 1);
        assertThat(leader.commitIndex()).isEqualTo(commitBefore);
        assertThat(leader.configuration().isJoint()).isTrue();

        cluster.heal();
        cluster.runTicks(20);
        assertThat(leader.configuration()).isEqualTo(Configuration.of(target));
        assertThat(cluster.appliedCommands("n4")).contains("stuck");
        assertThat(completedChanges(cluster, "n1")).contains(change.index());
    }

    @Test
    void anElectionWhileJointNeedsBothMajorities() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4", "n5").joining("n4", "n5").build();
        cluster.electLeader("n1");
        RaftNode leader = cluster.node("n1");
        addLearners(cluster, "n1", "n4", "n5");
        // C_old,new = {n1 n2 n3} -> {n3 n4 n5}; it reaches everyone, then the leader dies before C_new.
        cluster.loseIf(m -> m instanceof AppendEntries ae && ae.entries().stream()
                .anyMatch(e -> e.type() == EntryType.CONFIGURATION && !Configuration.decode(e.data()).isJoint()));
        Membership.ChangeResult change = cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                List.of(Member.voter("n3", ""), Member.voter("n4", ""), Member.voter("n5", "")));
        assertThat(change.isAccepted()).isTrue();
        cluster.deliverAll();
        cluster.crash("n1");
        cluster.heal();

        // n2 has the votes of C_old (n2, n3) but only n3 of C_new: it cannot win.
        cluster.isolate("n4");
        cluster.isolate("n5");
        cluster.runTicksOn(List.of("n2", "n3"), LONG);
        assertThat(cluster.leaders()).isEmpty();

        // With n4 back, a majority of both is reachable; the new leader finishes the change (appends C_new).
        cluster.heal();
        cluster.runUntil(LONG, () -> cluster.leader() != null
                && !cluster.node(cluster.leader()).configuration().isJoint()
                && cluster.node(cluster.leader()).commitIndex() == cluster.node(cluster.leader()).lastIndex());
        RaftNode newLeader = cluster.node(cluster.leader());
        assertThat(newLeader.configuration().voters()).containsExactly("n3", "n4", "n5");
        assertThat(completedChanges(cluster, newLeader.id())).containsExactly(change.index());
    }

    // ---------------------------------------------------------------------------------------------
    // One change at a time, and not before the leader's first commit
    // ---------------------------------------------------------------------------------------------

    @Test
    void aSecondChangeIsRefusedWhileOneIsInFlightAndAStaleOneIsRefusedAfter() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4", "n5").joining("n4", "n5").build();
        cluster.electLeader("n1");
        RaftNode leader = cluster.node("n1");
        long expected = leader.configurationIndex();
        Membership.ChangeResult first = cluster.changeConfiguration(leader.id(), expected,
                with(leader.configuration(), Member.learner("n4", "")));
        assertThat(first.isAccepted()).isTrue();

        // Another administrator read the same configuration and races: refused, it came second.
        Membership.ChangeResult racing = cluster.changeConfiguration(leader.id(), expected,
                with(Configuration.ofVoters(List.of("n1", "n2", "n3")), Member.learner("n5", "")));
        assertThat(racing.refusal()).isEqualTo(Refusal.CONFIGURATION_CHANGED);
        // Expecting the new, uncommitted configuration is not enough: it is still in flight.
        Membership.ChangeResult eager = cluster.changeConfiguration(leader.id(), first.index(),
                with(leader.configuration(), Member.learner("n5", "")));
        assertThat(eager.refusal()).isEqualTo(Refusal.CHANGE_IN_PROGRESS);

        cluster.deliverAll();
        assertThat(cluster.changeConfiguration(leader.id(), first.index(), with(leader.configuration(),
                Member.learner("n5", ""))).isAccepted()).isTrue();
        cluster.deliverAll();
        assertThat(cluster.changeConfiguration(leader.id(), leader.configurationIndex(), leader.configuration().members())
                .refusal()).isEqualTo(Refusal.UNCHANGED);
        assertThat(cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                List.of(Member.learner("n1", ""))).refusal()).isEqualTo(Refusal.INVALID_CONFIGURATION);
        assertThat(cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                List.of(Member.voter("n1", ""), Member.learner("n1", ""))).refusal())
                .isEqualTo(Refusal.INVALID_CONFIGURATION);
        assertThat(cluster.changeConfiguration("n2", leader.configurationIndex(),
                leader.configuration().members()).refusal()).isEqualTo(Refusal.NOT_LEADER);
    }

    @Test
    void aNewLeaderChangesNothingBeforeItHasCommittedAnEntryOfItsTerm() {
        // Without PreVote and CheckQuorum, so n3 does not wait out n1's lease before voting.
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3")
                .config(RaftConfig.defaults().withPreVote(false).withCheckQuorum(false)).build();
        cluster.electLeader("n1");
        cluster.crash("n1");
        // n2 wins, but its no-op does not reach anyone yet.
        cluster.hold(m -> m instanceof AppendEntries && m.from().equals("n2"));
        cluster.tickUntilCampaign("n2");
        cluster.deliverAll();
        RaftNode leader = cluster.node("n2");
        assertThat(leader.role()).isEqualTo(Role.LEADER);

        Membership.ChangeResult early = cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                List.of(Member.voter("n2", ""), Member.voter("n3", "")));
        assertThat(early.refusal()).isEqualTo(Refusal.NO_COMMIT_IN_TERM_YET);

        cluster.release();
        cluster.heal();
        cluster.deliverAll();
        assertThat(cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                List.of(Member.voter("n2", ""), Member.voter("n3", ""))).isAccepted()).isTrue();
    }

    // ---------------------------------------------------------------------------------------------
    // The latest configuration, committed or not; truncation; restart
    // ---------------------------------------------------------------------------------------------

    @Test
    void aFollowerUsesAnUncommittedConfigurationAndRevertsWhenItIsTruncated() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4", "n5").build();
        cluster.electLeader("n1");
        RaftNode leader = cluster.node("n1");
        Configuration before = leader.configuration();
        long beforeIndex = leader.configurationIndex();

        // C_old,new reaches n2 only.
        cluster.partition(List.of("n1", "n2"), List.of("n3", "n4", "n5"));
        Membership.ChangeResult change = cluster.changeConfiguration(leader.id(), beforeIndex,
                List.of(Member.voter("n1", ""), Member.voter("n2", ""), Member.voter("n3", "")));
        assertThat(change.isAccepted()).isTrue();
        cluster.deliverAll();
        assertThat(cluster.node("n2").configuration().isJoint()).as("in use as soon as it is in the log").isTrue();
        assertThat(cluster.node("n2").configurationIndex()).isEqualTo(change.index());

        // The majority side elects n3, which writes over the uncommitted entry.
        cluster.isolate("n1");
        cluster.heal();
        cluster.isolate("n1");
        cluster.runUntil(LONG, () -> "n3".equals(cluster.leader()) || "n4".equals(cluster.leader())
                || "n5".equals(cluster.leader()));
        cluster.propose(cluster.leader(), "overwrite");
        cluster.runTicks(10);

        assertThat(cluster.node("n2").configuration()).isEqualTo(before);
        assertThat(cluster.node("n2").configurationIndex()).isEqualTo(beforeIndex);
        assertThat(cluster.membershipNews("n2")).extracting(Ready.MembershipNews::configuration)
                .filteredOn(java.util.Objects::nonNull).last()
                .isEqualTo(new Ready.ConfigurationState(beforeIndex, before));
    }

    @Test
    void aRestartedServerReadsItsConfigurationBackFromItsLog() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4").joining("n4").build();
        cluster.electLeader("n1");
        addLearners(cluster, "n1", "n4");
        RaftNode leader = cluster.node("n1");
        assertThat(cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                promoted(leader.configuration(), "n4")).isAccepted()).isTrue();
        cluster.deliverAll();
        cluster.runTicks(3);
        Configuration now = cluster.node("n4").configuration();
        long index = cluster.node("n4").configurationIndex();

        cluster.crash("n4");
        cluster.restart("n4"); // it starts with no configuration given; the log has it
        assertThat(cluster.node("n4").configuration()).isEqualTo(now);
        assertThat(cluster.node("n4").configurationIndex()).isEqualTo(index);
        assertThat(cluster.node("n4").configurationAt(1)).isEqualTo(Configuration.EMPTY);
    }

    // ---------------------------------------------------------------------------------------------
    // Learners and quorums
    // ---------------------------------------------------------------------------------------------

    @Test
    void aLearnersAcknowledgementNeverCountsTowardsCommitment() {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4").joining("n4").build();
        cluster.electLeader("n1");
        addLearners(cluster, "n1", "n4");
        RaftNode leader = cluster.node("n1");
        long commit = leader.commitIndex();

        cluster.isolate("n2");
        cluster.isolate("n3");
        cluster.heal();
        cluster.partition(List.of("n2", "n3"), List.of("n1", "n4"));
        long index = cluster.propose("n1", "needs a voter");
        cluster.runTicks(5);
        assertThat(leader.matchIndexOf("n4")).isEqualTo(index);
        assertThat(leader.commitIndex()).isEqualTo(commit);
    }

    // ---------------------------------------------------------------------------------------------
    // Removing servers
    // ---------------------------------------------------------------------------------------------

    @Test
    void aLeaderRemovedFromTheConfigurationStepsDownOnceItCommitsAndNeverCampaignsAgain() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        RaftNode leader = cluster.node("n1");
        Membership.ChangeResult change = cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                List.of(Member.voter("n2", ""), Member.voter("n3", "")));
        assertThat(change.isAccepted()).isTrue();
        cluster.deliverAll();

        assertThat(leader.role()).isEqualTo(Role.FOLLOWER);
        assertThat(leader.configuration().voters()).containsExactly("n2", "n3");
        assertThat(completedChanges(cluster, "n1")).containsExactly(change.index());

        cluster.runUntil(LONG, () -> cluster.leader() != null);
        assertThat(cluster.leader()).isIn("n2", "n3");
        long requestVotesBefore = requestVotesFrom(cluster, "n1");
        cluster.isolate("n1");
        cluster.runTicks(LONG);
        assertThat(requestVotesFrom(cluster, "n1")).isEqualTo(requestVotesBefore);
        assertThat(cluster.node("n1").role()).isEqualTo(Role.FOLLOWER);
    }

    @Test
    void aRemovedServerHearsOfItsRemovalAndStaysQuiet() {
        ScenarioCluster cluster = ScenarioCluster.of("n1", "n2", "n3");
        cluster.electLeader("n1");
        RaftNode leader = cluster.node("n1");
        assertThat(cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                List.of(Member.voter("n1", ""), Member.voter("n2", ""))).isAccepted()).isTrue();
        cluster.deliverAll();
        // The leader went on replicating to n3 until C_new committed, so n3 holds it.
        assertThat(cluster.node("n3").configuration().contains("n3")).isFalse();
        long term = leader.currentTerm();
        long before = requestVotesFrom(cluster, "n3");
        cluster.runTicks(LONG);
        assertThat(requestVotesFrom(cluster, "n3")).isEqualTo(before);
        assertThat(cluster.leader()).isEqualTo("n1");
        assertThat(leader.currentTerm()).isEqualTo(term);
    }

    /**
     * A removed server that never heard of its removal campaigns, and is ignored: servers that hear
     * from a leader refuse PreVotes and ignore RequestVotes for the minimum election timeout (thesis
     * §4.2.3; on when PreVote or CheckQuorum is on, the default).
     */
    @ParameterizedTest(name = "preVote={0} checkQuorum={1}")
    @CsvSource({"true, true", "true, false", "false, true"})
    void aRemovedServerThatMissedItsRemovalCannotDisruptTheCluster(boolean preVote, boolean checkQuorum) {
        RaftConfig config = RaftConfig.defaults().withPreVote(preVote).withCheckQuorum(checkQuorum);
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3", "n4").config(config).build();
        cluster.electLeader("n1");
        RaftNode leader = cluster.node("n1");
        cluster.isolate("n4");
        assertThat(cluster.changeConfiguration(leader.id(), leader.configurationIndex(),
                List.of(Member.voter("n1", ""), Member.voter("n2", ""), Member.voter("n3", ""))).isAccepted())
                .isTrue();
        cluster.runTicks(10);
        assertThat(leader.configuration().contains("n4")).isFalse();
        assertThat(cluster.node("n4").configuration().isVoter("n4")).as("n4 never heard").isTrue();
        long term = leader.currentTerm();

        cluster.heal();
        cluster.runTicks(LONG);
        assertThat(requestVotesFrom(cluster, "n4")).as("it does campaign").isPositive();
        assertThat(cluster.leader()).isEqualTo("n1");
        assertThat(leader.currentTerm()).isEqualTo(term);
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------------

    private static List<Member> with(Configuration c, Member added) {
        List<Member> ms = new ArrayList<>(c.members());
        ms.add(added);
        return ms;
    }

    private static List<Member> promoted(Configuration c, String id) {
        List<Member> ms = new ArrayList<>();
        for (Member m : c.members()) {
            ms.add(m.id().equals(id) ? m.as(Configuration.Kind.VOTER) : m);
        }
        return ms;
    }

    /** Adds learners through {@code leaderId} and lets them catch up. */
    private static void addLearners(ScenarioCluster cluster, String leaderId, String... learners) {
        RaftNode leader = cluster.node(leaderId);
        List<Member> ms = new ArrayList<>(leader.configuration().members());
        for (String l : learners) {
            ms.add(Member.learner(l, ""));
        }
        Membership.ChangeResult r = cluster.changeConfiguration(leaderId, leader.configurationIndex(), ms);
        assertThat(r.isAccepted()).as(r.detail()).isTrue();
        cluster.deliverAll();
        cluster.runTicks(3);
    }

    private static List<Long> completedChanges(ScenarioCluster cluster, String id) {
        List<Long> out = new ArrayList<>();
        for (Ready.MembershipNews n : cluster.membershipNews(id)) {
            for (Membership.ChangeCompleted c : n.changesCompleted()) {
                out.add(c.requestIndex());
            }
        }
        return out;
    }

    private static List<Entry> configurationEntries(ScenarioCluster cluster, String id) {
        return cluster.log(id).stream().filter(e -> e.type() == EntryType.CONFIGURATION).toList();
    }

    private static long requestVotesFrom(ScenarioCluster cluster, String id) {
        return cluster.sent().stream().filter(m -> m.from().equals(id) && isRequestVote(m)).count();
    }

    private static boolean isRequestVote(RaftMessage m) {
        return m instanceof org.raftkit.message.RequestVote;
    }
}
