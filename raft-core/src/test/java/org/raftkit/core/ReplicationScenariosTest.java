package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.raftkit.RaftConfig;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.Entry;
import org.raftkit.message.RaftMessage;

/**
 * Replication and commitment (§5.3, §5.4.2) with the durability rules of the thesis (§3.8,
 * §10.2.1): a follower acknowledges only what is durable; the leader may send before its own write
 * completes, but its own copy counts toward a majority only once durable. Commit index = the
 * highest index on a majority of {leader's durable index, followers' matchIndexes} whose entry is
 * of the current term. Also the pipeline: a bounded window of AppendEntries per follower, each
 * bounded in entries and bytes.
 */
class ReplicationScenariosTest {

    /** A leader n1 of three, with its no-op committed and known to everyone. */
    private static ScenarioCluster threeNodesLedByN1(RaftConfig config) {
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3").config(config).build();
        cluster.electLeader("n1");
        cluster.runTicks(config.heartbeatIntervalTicks());
        return cluster;
    }

    // ---------------------------------------------------------------------------------------------
    // The leader's own write (thesis §10.2.1)
    // ---------------------------------------------------------------------------------------------

    @Test
    void leadersOwnEntryDoesNotCountBeforeItIsDurable() {
        ScenarioCluster cluster = threeNodesLedByN1(RaftConfig.defaults());
        RaftNode n1 = cluster.node("n1");
        long before = n1.commitIndex();
        cluster.holdPersistence("n1");

        long x = cluster.propose("n1", "x");
        // The AppendEntries left before the leader's own write completed.
        assertThat(cluster.inFlight()).anyMatch(m -> m instanceof AppendEntries ae && ae.to().equals("n2"));
        cluster.deliverOnly("n1", "n2");
        cluster.deliverOnly("n2", "n1");

        // Stored on n1 (not yet durable) and n2 (durable and acknowledged): only one durable copy of three.
        assertThat(n1.matchIndexOf("n2")).isEqualTo(x);
        assertThat(n1.durableIndex()).isLessThan(x);
        assertThat(n1.commitIndex()).isEqualTo(before);

        cluster.releasePersistence("n1");

        // Leader durable + n2: two of three.
        assertThat(n1.commitIndex()).isEqualTo(x);
        assertThat(cluster.appliedCommands("n1")).containsExactly("x");
    }

    @Test
    void slowerFollowerHearsOfTheCommitAsSoonAsItAcknowledgesNotAtTheNextHeartbeat() {
        ScenarioCluster cluster = threeNodesLedByN1(RaftConfig.defaults());
        RaftNode n1 = cluster.node("n1");
        cluster.hold(m -> m.to().equals("n3"));

        long x = cluster.propose("n1", "x");
        cluster.deliverAll();
        assertThat(n1.commitIndex()).as("n1 and n2 commit x without n3").isEqualTo(x);

        // n3 catches up later. Its acknowledgement does not move the leader's commit index (the
        // quorum was already there), yet n3 must learn at once that x is committed: without a
        // tick, so not from a periodic heartbeat.
        cluster.release();
        cluster.deliverAll();
        assertThat(cluster.node("n3").commitIndex()).isEqualTo(x);
        assertThat(cluster.appliedCommands("n3")).containsExactly("x");
    }

    @Test
    void twoFollowerAcknowledgementsCommitWithoutTheLeadersOwnWrite() {
        ScenarioCluster cluster = threeNodesLedByN1(RaftConfig.defaults());
        RaftNode n1 = cluster.node("n1");
        cluster.holdPersistence("n1");

        long x = cluster.propose("n1", "x");
        cluster.deliverAll();

        // n2 and n3 hold x durably: a majority, whatever the leader's disk is doing.
        assertThat(n1.durableIndex()).isLessThan(x);
        assertThat(n1.commitIndex()).isEqualTo(x);
        // Committed entries are on a majority, so the leader may apply before its own copy is durable.
        assertThat(cluster.appliedCommands("n1")).containsExactly("x");

        cluster.releasePersistence("n1");
        assertThat(cluster.storedLog("n1")).extracting(Entry::index).contains(x);
    }

    @Test
    void followerAcknowledgesOnlyEntriesThatAreDurable() {
        ScenarioCluster cluster = threeNodesLedByN1(RaftConfig.defaults());
        cluster.holdPersistence("n2");
        cluster.holdPersistence("n3");

        long x = cluster.propose("n1", "x");
        cluster.deliverOnly("n1", "n2");
        cluster.deliverOnly("n1", "n3");

        assertThat(cluster.node("n2").lastIndex()).isEqualTo(x);
        assertThat(cluster.inFlight()).noneMatch(m -> m instanceof AppendEntriesReply);
        cluster.deliverAll();
        assertThat(cluster.node("n1").commitIndex()).isLessThan(x);

        cluster.releasePersistence("n2");
        assertThat(cluster.inFlight()).anyMatch(m -> m instanceof AppendEntriesReply r && r.from().equals("n2")
                && r.success() && r.matchIndex() == x);
        cluster.deliverAll();
        assertThat(cluster.node("n1").commitIndex()).isEqualTo(x);
    }

    @Test
    void crashedFollowerLosesOnlyUnacknowledgedEntriesAndCatchesUpAfterRestart() {
        ScenarioCluster cluster = threeNodesLedByN1(RaftConfig.defaults());
        cluster.holdPersistence("n3");
        long x = cluster.propose("n1", "x");
        cluster.deliverAll();
        assertThat(cluster.node("n1").commitIndex()).as("n1 and n2 suffice").isEqualTo(x);

        cluster.crash("n3"); // x was never durable on n3, and n3 never acknowledged it
        assertThat(cluster.storedLog("n3")).extracting(Entry::index).doesNotContain(x);
        cluster.restart("n3");
        cluster.runTicks(2 * cluster.config().heartbeatIntervalTicks());

        assertThat(cluster.log("n3")).isEqualTo(cluster.log("n1"));
        assertThat(cluster.appliedCommands("n3")).containsExactly("x");
    }

    // ---------------------------------------------------------------------------------------------
    // A follower that lost what it acknowledged (issue 9, bug 2)
    // ---------------------------------------------------------------------------------------------

    @Test
    void followerRestartedWithAnEmptyLogUnderTheSameLeaderCatchesUpInAFewRoundTrips() {
        ScenarioCluster cluster = threeNodesLedByN1(RaftConfig.defaults());
        writeAndSettle(cluster, "a", "b", "c", "d", "e");
        long acknowledged = cluster.node("n1").matchIndexOf("n3");

        cluster.crash("n3");
        cluster.loseSyncedLogFrom("n3", 1); // the data directory was wiped; term and vote were kept
        cluster.restart("n3");

        int messages = writeUntilCaughtUp(cluster, "n3");
        assertThat(messages).as("messages between n1 and n3 to repair n3").isLessThanOrEqualTo(20);
        assertThat(cluster.node("n1").matchIndexOf("n3")).isGreaterThan(acknowledged);
        assertThat(cluster.log("n3")).isEqualTo(cluster.log("n1"));
    }

    @Test
    void followerThatLostItsLogTailUnderTheSameLeaderCatchesUpInAFewRoundTrips() {
        ScenarioCluster cluster = threeNodesLedByN1(RaftConfig.defaults());
        writeAndSettle(cluster, "a", "b", "c", "d", "e");
        long acknowledged = cluster.node("n1").matchIndexOf("n3");

        cluster.crash("n3");
        cluster.loseSyncedLogFrom("n3", acknowledged - 2); // the disk lost its last three synced entries
        cluster.restart("n3");

        int messages = writeUntilCaughtUp(cluster, "n3");
        assertThat(messages).as("messages between n1 and n3 to repair n3").isLessThanOrEqualTo(20);
        assertThat(cluster.log("n3")).isEqualTo(cluster.log("n1"));
    }

    @Test
    void idleLeaderRepairsAFollowerThatLostItsLogFromItsHeartbeats() {
        ScenarioCluster cluster = threeNodesLedByN1(RaftConfig.defaults());
        writeAndSettle(cluster, "a", "b", "c");

        cluster.crash("n3");
        cluster.loseSyncedLogFrom("n3", 1);
        cluster.restart("n3");

        // No new write: only heartbeats tell n3 that the leader believes it holds more than it does.
        int ticks = cluster.runUntil(3 * cluster.config().heartbeatIntervalTicks(),
                () -> cluster.node("n3").commitIndex() == cluster.node("n1").commitIndex());
        assertThat(ticks).as("ticks until n3 caught up").isNotNegative();
        assertThat(cluster.log("n3")).isEqualTo(cluster.log("n1"));
        assertThat(cluster.appliedCommands("n3")).containsExactly("a", "b", "c");
    }

    @Test
    void rejectionOfAnOldProbeArrivingAfterTheAcknowledgementDoesNotLowerMatchIndex() {
        // n3 missed entries 3 to 5; n1 will lead and repair it.
        ScenarioCluster cluster = ScenarioCluster.builder("n1", "n2", "n3")
                .log("n1", 1, 1, 1, 1, 1).log("n2", 1, 1, 1, 1, 1).log("n3", 1, 1).build();
        // The first rejection n3 sends (of n1's first probe, "my log ends at 2") is delayed; the
        // later ones are equal records, so the one held is told apart by identity.
        Set<RaftMessage> delayed = Collections.newSetFromMap(new IdentityHashMap<>());
        cluster.hold(m -> m instanceof AppendEntriesReply r && !r.success() && r.from().equals("n3")
                && (delayed.isEmpty() ? delayed.add(m) : delayed.contains(m)));
        cluster.electLeader("n1");
        // A later probe's rejection gets through; n3 is repaired and acknowledges everything.
        RaftNode n1 = cluster.node("n1");
        assertThat(cluster.runUntil(5 * cluster.config().heartbeatIntervalTicks(),
                () -> n1.matchIndexOf("n3") == n1.lastIndex())).isNotNegative();
        long acknowledged = n1.matchIndexOf("n3");
        assertThat(delayed).hasSize(1);

        // Now the old rejection arrives. It contradicts the acknowledgement, like a follower that
        // lost its log, but n3 still holds everything: the leader's confirming probe shows it.
        cluster.release();
        while (cluster.deliverNext(m -> true)) {
            assertThat(n1.matchIndexOf("n3")).as("matchIndex of n3").isEqualTo(acknowledged);
        }
        cluster.runTicks(cluster.config().heartbeatIntervalTicks());
        assertThat(n1.matchIndexOf("n3")).isEqualTo(acknowledged);
        assertThat(cluster.log("n3")).isEqualTo(cluster.log("n1"));
    }

    /** Proposes the commands on n1 and lets them reach everyone. */
    private static void writeAndSettle(ScenarioCluster cluster, String... commands) {
        cluster.proposeTogether("n1", commands);
        cluster.deliverAll();
        cluster.runTicks(cluster.config().heartbeatIntervalTicks());
    }

    /**
     * Keeps writing on n1, one command per tick, until {@code follower} holds the leader's whole log,
     * for at most three heartbeat intervals; delivers at most 10,000 messages per tick so a message
     * storm is measured rather than run to exhaustion.
     *
     * @return the number of messages sent between n1 and {@code follower} meanwhile
     */
    private static int writeUntilCaughtUp(ScenarioCluster cluster, String follower) {
        int sentBefore = cluster.sent().size();
        int maxTicks = 3 * cluster.config().heartbeatIntervalTicks();
        boolean caughtUp = false;
        for (int tick = 0; tick < maxTicks && !caughtUp; tick++) {
            cluster.propose("n1", "w" + tick);
            cluster.tickAll(1);
            cluster.deliverAtMost(10_000);
            caughtUp = cluster.node(follower).lastIndex() == cluster.node("n1").lastIndex()
                    && cluster.node(follower).commitIndex() == cluster.node("n1").commitIndex();
        }
        List<RaftMessage> sent = cluster.sent();
        int messages = (int) sent.subList(sentBefore, sent.size()).stream()
                .filter(m -> (m.from().equals("n1") && m.to().equals(follower))
                        || (m.from().equals(follower) && m.to().equals("n1")))
                .filter(m -> m instanceof AppendEntries || m instanceof AppendEntriesReply)
                .count();
        assertThat(caughtUp).as("%s caught up within %d ticks (%d AppendEntries and replies exchanged)",
                follower, maxTicks, messages).isTrue();
        return messages;
    }

    // ---------------------------------------------------------------------------------------------
    // Pipelining and batching
    // ---------------------------------------------------------------------------------------------

    @Test
    void pipelineKeepsAtMostMaxInflightAppendEntriesUnacknowledgedPerFollower() {
        int window = 4;
        int maxEntries = 3;
        RaftConfig config = RaftConfig.defaults()
                .withMaxInflight(window, RaftConfig.DEFAULT_MAX_INFLIGHT_BYTES)
                .withMaxAppend(maxEntries, RaftConfig.DEFAULT_MAX_APPEND_BYTES);
        ScenarioCluster cluster = threeNodesLedByN1(config);
        int sentBefore = cluster.sent().size();

        // 60 proposals, arriving one at a time between deliveries of single messages.
        int maxSeen = 0;
        List<String> commands = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            commands.add("c" + i);
            cluster.propose("n1", "c" + i);
            for (int k = 0; k < 2; k++) {
                cluster.deliverNext(m -> true);
                maxSeen = Math.max(maxSeen, checkWindow(cluster, window));
            }
        }
        // And 60 more all at once.
        for (int i = 60; i < 120; i++) {
            commands.add("c" + i);
        }
        cluster.proposeTogether("n1", commands.subList(60, 120).toArray(String[]::new));
        maxSeen = Math.max(maxSeen, checkWindow(cluster, window));
        while (cluster.deliverNext(m -> true)) {
            maxSeen = Math.max(maxSeen, checkWindow(cluster, window));
        }

        assertThat(maxSeen).as("the window was used to the full").isEqualTo(window);
        List<AppendEntries> appends = appendEntriesSentSince(cluster, sentBefore);
        assertThat(appends).allSatisfy(ae -> assertThat(ae.entries()).hasSizeLessThanOrEqualTo(maxEntries));
        assertThat(appends).as("batches were filled").anyMatch(ae -> ae.entries().size() == maxEntries);
        cluster.runTicks(config.heartbeatIntervalTicks());
        for (String id : cluster.ids()) {
            assertThat(cluster.appliedCommands(id)).as("applied by %s", id).containsExactlyElementsOf(commands);
        }
    }

    @Test
    void pipelineWhoseWholeWindowIsLostRecoversByProbing() {
        RaftConfig config = RaftConfig.defaults()
                .withMaxInflight(4, RaftConfig.DEFAULT_MAX_INFLIGHT_BYTES)
                .withMaxAppend(1, RaftConfig.DEFAULT_MAX_APPEND_BYTES);
        ScenarioCluster cluster = threeNodesLedByN1(config);
        String[] commands = new String[10];
        for (int i = 0; i < commands.length; i++) {
            commands[i] = "c" + i;
        }

        cluster.proposeTogether("n1", commands);
        assertThat(cluster.appendEntriesInFlight("n1", "n2")).isEqualTo(4);
        cluster.drop("n1", "n2"); // the whole window is lost
        cluster.deliverAll();
        assertThat(cluster.node("n2").commitIndex()).isLessThan(cluster.node("n1").commitIndex());

        cluster.runTicks(4 * config.heartbeatIntervalTicks());

        assertThat(cluster.log("n2")).isEqualTo(cluster.log("n1"));
        assertThat(cluster.appliedCommands("n2")).containsExactly(commands);
    }

    @Test
    void batchesRespectMaxAppendBytesAndTheWindowRespectsMaxInflightBytes() {
        long maxAppendBytes = 200;
        long maxInflightBytes = 500;
        RaftConfig config = RaftConfig.defaults()
                .withMaxInflight(RaftConfig.DEFAULT_MAX_INFLIGHT_MESSAGES, maxInflightBytes)
                .withMaxAppend(RaftConfig.DEFAULT_MAX_APPEND_ENTRIES, maxAppendBytes);
        ScenarioCluster cluster = threeNodesLedByN1(config);
        int sentBefore = cluster.sent().size();
        String payload = "p".repeat(50); // 50 + 24 bytes overhead = 74 bytes an entry: two fit in 200
        String[] commands = new String[40];
        for (int i = 0; i < commands.length; i++) {
            commands[i] = payload + i % 10;
        }

        cluster.proposeTogether("n1", commands);
        long maxBytesInFlight = 0;
        do {
            for (String f : List.of("n2", "n3")) {
                maxBytesInFlight = Math.max(maxBytesInFlight, unacknowledgedBytes(cluster, "n1", f));
            }
        } while (cluster.deliverNext(m -> true));

        List<AppendEntries> appends = appendEntriesSentSince(cluster, sentBefore);
        assertThat(appends).allSatisfy(ae -> assertThat(bytes(ae)).isLessThanOrEqualTo(maxAppendBytes));
        assertThat(appends).anyMatch(ae -> ae.entries().size() == 2);
        // The window stops sending once it is full, so it overshoots by at most one batch.
        assertThat(maxBytesInFlight).isGreaterThan(0).isLessThan(maxInflightBytes + maxAppendBytes);
        assertThat(cluster.log("n2")).isEqualTo(cluster.log("n1"));
        assertThat(cluster.log("n3")).isEqualTo(cluster.log("n1"));
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * Checks that no follower has more than {@code window} AppendEntries unacknowledged (in flight
     * to it, or answered with the answer still in flight back), and returns the largest count.
     */
    private static int checkWindow(ScenarioCluster cluster, int window) {
        int max = 0;
        for (String f : List.of("n2", "n3")) {
            int unacked = unacknowledged(cluster, "n1", f).size();
            assertThat(unacked).as("AppendEntries unacknowledged by %s: %s", f, cluster.inFlight())
                    .isLessThanOrEqualTo(window);
            max = Math.max(max, unacked);
        }
        return max;
    }

    private static List<RaftMessage> unacknowledged(ScenarioCluster cluster, String leader, String follower) {
        return cluster.inFlight().stream()
                .filter(m -> (m instanceof AppendEntries && m.from().equals(leader) && m.to().equals(follower))
                        || (m instanceof AppendEntriesReply && m.from().equals(follower) && m.to().equals(leader)))
                .toList();
    }

    /** Entry bytes of the AppendEntries to {@code follower} not yet acknowledged. */
    private static long unacknowledgedBytes(ScenarioCluster cluster, String leader, String follower) {
        // Replies carry no entries; map each in-flight reply back to the AppendEntries it answers.
        Map<Long, AppendEntries> sentByLastIndex = new TreeMap<>();
        for (RaftMessage m : cluster.sent()) {
            if (m instanceof AppendEntries ae && ae.from().equals(leader) && ae.to().equals(follower)) {
                sentByLastIndex.put(ae.lastIndex(), ae);
            }
        }
        long total = 0;
        for (RaftMessage m : unacknowledged(cluster, leader, follower)) {
            if (m instanceof AppendEntries ae) {
                total += bytes(ae);
            } else if (m instanceof AppendEntriesReply r && sentByLastIndex.containsKey(r.matchIndex())) {
                total += bytes(sentByLastIndex.get(r.matchIndex()));
            }
        }
        return total;
    }

    private static long bytes(AppendEntries ae) {
        long total = 0;
        for (Entry e : ae.entries()) {
            total += e.sizeBytes();
        }
        return total;
    }

    private static List<AppendEntries> appendEntriesSentSince(ScenarioCluster cluster, int fromPosition) {
        List<RaftMessage> sent = cluster.sent();
        return sent.subList(fromPosition, sent.size()).stream()
                .filter(m -> m instanceof AppendEntries)
                .map(AppendEntries.class::cast)
                .toList();
    }
}
