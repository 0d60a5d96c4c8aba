package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.ClientRequest;
import org.raftkit.message.Entry;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.InstallSnapshot;
import org.raftkit.message.InstallSnapshotReply;
import org.raftkit.message.Message;
import org.raftkit.message.RequestVote;

/** The two lanes of one peer: which message goes where, who goes first, and the byte budgets. */
class OutboundLanesTest {

    private static AppendEntries append(long index, int payloadBytes) {
        return new AppendEntries("a", "b", 1, index - 1, 1, List.of(Entry.command(index, 1, new byte[payloadBytes])), 0);
    }

    @Test
    void aHeartbeatQueuedAfterLargeAppendsIsWrittenBeforeThem() {
        OutboundLanes lanes = new OutboundLanes(1 << 20, 64 << 20);
        lanes.offer(append(1, 1 << 20));
        lanes.offer(append(2, 1 << 20));
        lanes.offer(new Heartbeat("a", "b", 1, 0, 0));
        lanes.offer(new AppendEntriesReply("a", "b", 1, true, 0, 0, 0, 0));

        assertThat(lanes.poll()).isInstanceOf(Heartbeat.class);
        assertThat(lanes.poll()).isInstanceOf(AppendEntriesReply.class);
        assertThat(((AppendEntries) lanes.poll()).prevLogIndex()).as("appends keep their order").isZero();
        assertThat(((AppendEntries) lanes.poll()).prevLogIndex()).isEqualTo(1);
        assertThat(lanes.poll()).isNull();
        assertThat(lanes.queuedBytes()).isZero();
    }

    @Test
    void payloadCarryingMessagesGoInTheBulkLane() {
        List<Message> bulk = List.of(append(1, 0), new ClientRequest("a", "b", 1, ClientRequest.Kind.WRITE, new byte[0]),
                new InstallSnapshot("a", "b", 1, 10, 1, 0, new byte[0], false));
        List<Message> control = List.of(new Heartbeat("a", "b", 1, 0, 0), new RequestVote("a", "b", 2, 0, 0, true),
                new AppendEntriesReply("a", "b", 1, false, 0, 0, 0, 0),
                new InstallSnapshotReply("a", "b", 1, 10, 0, false));
        assertThat(bulk).allMatch(OutboundLanes::isBulk);
        assertThat(control).noneMatch(OutboundLanes::isBulk);
    }

    @Test
    void aSnapshotChunkCountsItsDataAgainstTheBulkBudget() {
        InstallSnapshot chunk = new InstallSnapshot("a", "b", 1, 10, 1, 0, new byte[1 << 20], false);
        assertThat(OutboundLanes.estimateBytes(chunk)).isEqualTo((1 << 20) + OutboundLanes.MESSAGE_OVERHEAD_BYTES);
        OutboundLanes lanes = new OutboundLanes(1024, 2 * OutboundLanes.estimateBytes(chunk));
        assertThat(lanes.offer(chunk)).isTrue();
        assertThat(lanes.offer(chunk)).isTrue();
        assertThat(lanes.offer(chunk)).as("bulk lane full").isFalse();
    }

    @Test
    void aFullBulkLaneRefusesAppendsButStillTakesControlMessages() {
        long appendBytes = OutboundLanes.estimateBytes(append(1, 1000));
        OutboundLanes lanes = new OutboundLanes(1024, 3 * appendBytes);
        assertThat(lanes.offer(append(1, 1000))).isTrue();
        assertThat(lanes.offer(append(2, 1000))).isTrue();
        assertThat(lanes.offer(append(3, 1000))).isTrue();
        assertThat(lanes.offer(append(4, 1000))).as("bulk lane full").isFalse();
        assertThat(lanes.offer(new Heartbeat("a", "b", 1, 0, 0))).as("control lane has its own budget").isTrue();
        assertThat(lanes.queuedBytes()).isEqualTo(3 * appendBytes + OutboundLanes.MESSAGE_OVERHEAD_BYTES);

        lanes.poll();
        lanes.poll(); // the heartbeat, then the first append: room for one more append
        assertThat(lanes.offer(append(4, 1000))).isTrue();
        assertThat(lanes.clear()).isEqualTo(3);
        assertThat(lanes.queuedBytes()).isZero();
    }
}
