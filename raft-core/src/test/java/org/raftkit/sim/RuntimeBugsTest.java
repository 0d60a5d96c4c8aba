package org.raftkit.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.raftkit.sim.Simulation.MILLIS;
import static org.raftkit.sim.Simulation.SECONDS;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;
import org.raftkit.CommandTooLargeException;
import org.raftkit.RaftConfig;
import org.raftkit.RaftServer;
import org.raftkit.RaftStatus;
import org.raftkit.ServerBusyException;
import org.raftkit.StateMachine;
import org.raftkit.StateMachineException;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.memory.MemoryTermVoteStore;
import org.raftkit.message.Message;
import org.raftkit.sim.NodeCluster.Member;
import org.raftkit.spi.Transport;

/**
 * The runtime bugs that reviews found and no test caught (issue 9), each rebuilt as a scripted
 * whole-node scenario in virtual time. Each failed on the code before its fix.
 */
class RuntimeBugsTest {

    private static final RaftConfig CONFIG = RaftConfig.defaults().withRequestTimeoutMillis(10_000);

    /**
     * Bug 1. Follower F forwards W1; the leader's apply is slow; F restarts and forwards W2. The
     * leader's late answer to W1 must not complete W2 (before the fix both were request 1, and W2
     * was acknowledged with W1's result though it could still be lost).
     */
    @Test
    void aReplyMeantForAnEarlierIncarnationNeverCompletesANewCall() {
        NodeScenario s = new NodeScenario(7, 3, CONFIG);
        Member leader = s.awaitLeader();
        Member follower = s.other(leader);
        leader.scheduler.applyMicros = 2 * SECONDS;

        CompletableFuture<byte[]> w1 = follower.server.submit(SimKv.write("k", "w1"));
        s.runFor(100);
        s.cluster.crash(follower, NodeCluster.Loss.NONE);
        s.cluster.restart(follower);
        s.awaitLeader();
        CompletableFuture<byte[]> w2 = follower.server.submit(SimKv.write("k", "w2"));
        s.runFor(5_000);

        assertThat(w1).as("the crashed incarnation's call is never answered").isNotDone();
        assertThat(w2).isCompleted();
        assertThat(NodeKvMachine.WriteResult.parse(w2.join()).written()).isEqualTo("w2");
    }

    /**
     * Bug 2. A follower whose disk lost its log rejoins under the same leader, which believes
     * the follower holds everything up to its old matchIndex. It must be repaired in a few round
     * trips, not livelock exchanging a message storm.
     */
    @Test
    void aFollowerWhoseDiskLostItsLogCatchesUpInAFewRoundTrips() {
        NodeScenario s = new NodeScenario(11, 3, CONFIG);
        Member leader = s.awaitLeader();
        List<CompletableFuture<byte[]>> writes = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            writes.add(leader.server.submit(SimKv.write("k" + i, "v" + i)));
        }
        s.runFor(500);
        assertThat(writes).allMatch(CompletableFuture::isDone);
        Member follower = s.other(leader);
        s.cluster.crash(follower, NodeCluster.Loss.NONE);
        follower.disk.loseTail(Long.MAX_VALUE);
        s.cluster.restart(follower);
        long sentBefore = s.network.sent;

        s.runFor(2_000);

        long leaderLast = leader.server.status().lastLogIndex();
        assertThat(follower.server.status().appliedIndex()).isEqualTo(leaderLast);
        assertThat(s.network.sent - sentBefore).as("messages in 2 s").isLessThan(1_000);
    }

    /**
     * Bug 3. A command larger than the transport can carry used to be accepted, then dropped on
     * every send, freezing all writes behind it. It is now refused at submit, naming both sizes,
     * and the next write goes through at once.
     */
    @Test
    void aCommandOverTheLimitIsRefusedAtSubmitAndTheNextWriteGoesThrough() {
        RaftConfig config = CONFIG.withMaxCommandBytes(1_000);
        NodeScenario s = new NodeScenario(13, 3, config);
        Member leader = s.awaitLeader();
        Member follower = s.other(leader);

        CompletableFuture<byte[]> big = follower.server.submit(new byte[1_001]);
        CompletableFuture<byte[]> next = follower.server.submit(SimKv.write("k", "after"));
        s.runFor(200);

        assertThat(big).isCompletedExceptionally();
        assertThatThrownBy(big::join).cause().isInstanceOf(CommandTooLargeException.class)
                .hasMessageContaining("1001").hasMessageContaining("1000");
        assertThat(NodeKvMachine.WriteResult.parse(next.join()).written()).isEqualTo("after");
    }

    /** Bug 3, at build time: a transport that could not carry the largest command is refused. */
    @Test
    void theServerRefusesATransportThatCannotCarryTheLargestCommand() {
        Transport small = new Transport() {
            @Override
            public void start(MessageHandler handler) {
            }

            @Override
            public void send(Message message) {
            }

            @Override
            public long maxEntryBytesPerMessage() {
                return 8L << 20;
            }

            @Override
            public void close() {
            }
        };
        RaftServer.Builder builder = RaftServer.builder().id("n1").peers("n1").stateMachine(new NodeKvMachine())
                .logStorage(new MemoryLogStorage()).termVoteStore(new MemoryTermVoteStore()).transport(small)
                .config(RaftConfig.defaults().withMaxPending(1_000, 64L << 20).withMaxCommandBytes(16L << 20));
        assertThatThrownBy(builder::build).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxCommandBytes 16777216").hasMessageContaining("8388608");
    }

    /**
     * Bug 4. The leader's disk is slow while its followers commit without it, and impatient
     * clients time out and call again: the bytes waiting for its disk must stay bounded (the
     * cluster's after-turn check fails the run otherwise), and the overload shows as busy.
     */
    @Test
    void aSlowDiskKeepsTheBytesWaitingForItBoundedAndOverloadFailsFastAsBusy() {
        RaftConfig config = RaftConfig.defaults().withRequestTimeoutMillis(200).withMaxPending(1_000, 64 * 1024)
                .withMaxCommandBytes(4_096).withMaxInflight(8, 16 * 1024);
        NodeScenario s = new NodeScenario(17, 3, config);
        Member leader = s.awaitLeader();
        leader.scheduler.diskMicros = SECONDS;
        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        byte[] value = new byte[3_000];
        for (int round = 0; round < 100; round++) {
            for (int i = 0; i < 20; i++) {
                calls.add(leader.server.submit(SimKv.write("k" + i, "v" + round + new String(value,
                        StandardCharsets.ISO_8859_1).replace('\0', 'x'))));
            }
            s.ctx.runUntil(s.ctx.now() + 50 * MILLIS);
        }
        s.runFor(3_000);

        assertThat(calls).anyMatch(f -> f.isCompletedExceptionally()
                && f.handle((r, e) -> e.getCause() instanceof ServerBusyException || e instanceof ServerBusyException).join());
    }

    /** The node's own failure: the moment its status says FAILED, the status carries the cause. */
    @Test
    void theFailureCauseIsInTheStatusTheMomentItSaysFailed() {
        NodeScenario s = new NodeScenario(19, 3, CONFIG, id -> new ExplodingMachine());
        Member leader = s.awaitLeader();
        leader.server.submit("boom".getBytes(StandardCharsets.UTF_8));

        assertThatThrownBy(() -> s.runFor(500)).hasMessageContaining("fail-stop");
        RaftStatus status = leader.server.status();
        assertThat(status.state()).isEqualTo(RaftStatus.State.FAILED);
        assertThat(status.failure()).isInstanceOf(StateMachineException.class).hasMessageContaining("boom");
    }

    /** Throws on the command "boom", as a broken state machine would. */
    private static final class ExplodingMachine implements StateMachine {
        @Override
        public byte[] apply(long index, byte[] command) {
            if (new String(command, StandardCharsets.UTF_8).equals("boom")) {
                throw new IllegalStateException("boom");
            }
            return command;
        }

        @Override
        public byte[] query(byte[] query) {
            return query;
        }
    }

    /**
     * Found by the whole-node simulator (seed 4051 of the long run): the inbound queue was bounded
     * by {@code maxPendingBytes} alone, so with a budget smaller than {@code maxAppendBytes} a
     * full AppendEntries never fit, was dropped on every send, and a follower behind by more than
     * the budget never caught up.
     */
    @Test
    void aFollowerFarBehindCatchesUpEvenWithAPendingBudgetBelowOneBatch() {
        RaftConfig config = CONFIG.withMaxPending(1_000, 16 * 1024).withMaxCommandBytes(2_048);
        NodeScenario s = new NodeScenario(23, 3, config);
        Member leader = s.awaitLeader();
        Member follower = s.other(leader);
        s.cluster.crash(follower, NodeCluster.Loss.NONE);
        List<CompletableFuture<byte[]>> writes = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            writes.add(leader.server.submit(SimKv.write("k" + i, "v".repeat(1_000))));
            s.runFor(5);
        }
        s.runFor(500);
        assertThat(writes).allMatch(f -> f.isDone() && !f.isCompletedExceptionally());
        s.cluster.restart(follower);

        s.runFor(3_000);

        assertThat(follower.server.status().appliedIndex()).isEqualTo(leader.server.status().lastLogIndex());
    }
}
