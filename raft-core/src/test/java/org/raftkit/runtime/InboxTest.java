package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.raftkit.spi.Scheduler;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.Entry;
import org.raftkit.message.HeartbeatReply;

/** The Raft thread's inbox: messages are bounded and dropped when full, local work never is. */
class InboxTest {

    @Test
    void dropsMessagesBeyondTheCountLimitButNeverLocalWork() {
        Inbox inbox = new Inbox(2, 1 << 20);
        assertThat(inbox.offerMessage(new HeartbeatReply("a", "b", 1, 0))).isTrue();
        assertThat(inbox.offerMessage(new HeartbeatReply("a", "b", 1, 1))).isTrue();
        assertThat(inbox.offerMessage(new HeartbeatReply("a", "b", 1, 2))).isFalse();
        for (int i = 0; i < 10; i++) {
            inbox.postLocal(new Inbox.Applied(i));
        }
        assertThat(inbox.droppedMessages()).isEqualTo(1);
        assertThat(inbox.pollMessage()).isEqualTo(new HeartbeatReply("a", "b", 1, 0));
        assertThat(inbox.offerMessage(new HeartbeatReply("a", "b", 1, 3))).as("room again").isTrue();
        int local = 0;
        while (inbox.pollLocal() != null) {
            local++;
        }
        assertThat(local).isEqualTo(10);
    }

    @Test
    void dropsMessagesBeyondTheByteLimit() {
        Inbox inbox = new Inbox(100, 1_000);
        AppendEntries big = new AppendEntries("a", "b", 1, 0, 0, List.of(Entry.command(1, 1, new byte[900])), 0);
        assertThat(inbox.offerMessage(big)).isTrue();
        assertThat(inbox.offerMessage(big)).isFalse();
        assertThat(inbox.pollMessage()).isSameAs(big);
        assertThat(inbox.offerMessage(big)).isTrue();
    }

    @Test
    void queuedWorkWakesTheBoundLoop() {
        Inbox inbox = new Inbox(10, 1_000);
        AtomicInteger wakes = new AtomicInteger();
        inbox.postLocal(new Inbox.Applied(1)); // before a loop is bound: its first turn drains it
        inbox.bindConsumer(new Scheduler.Loop() {
            @Override
            public void wake() {
                wakes.incrementAndGet();
            }

            @Override
            public void stop() {
            }

            @Override
            public boolean join(long timeoutMillis) {
                return true;
            }

            @Override
            public boolean isCurrent() {
                return false;
            }
        });
        inbox.postLocal(new Inbox.Applied(2));
        inbox.offerMessage(new AppendEntries("a", "b", 1, 0, 0, List.of(), 0));
        assertThat(wakes).hasValue(2);
    }
}
