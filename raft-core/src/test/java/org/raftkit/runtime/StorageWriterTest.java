package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.raftkit.spi.Scheduler;
import org.raftkit.memory.MemoryTermVoteStore;
import org.raftkit.message.Entry;
import org.raftkit.message.HeartbeatReply;
import org.raftkit.message.Message;
import org.raftkit.message.RaftMessage;
import org.raftkit.spi.TermVoteStore.TermAndVote;
import org.raftkit.spi.Transport;

/** The storage thread: order, group commit, truncation, fail-stop. */
class StorageWriterTest {

    private static final Duration WAIT = Duration.ofSeconds(5);

    private final TestLogStorage log = new TestLogStorage();
    private final MemoryTermVoteStore termVoteStore = new MemoryTermVoteStore();
    private final CapturingTransport transport = new CapturingTransport();
    private final Inbox inbox = new Inbox(100, 1 << 20);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final StorageWriter writer = new StorageWriter(log, termVoteStore, transport, inbox,
            (where, cause) -> failure.set(cause), RuntimeMetricsTest.unreported());
    private Scheduler.Loop loop;

    /** Runs the storagewriter loop on a real thread, as production does. */
    private void startLoop() {
        loop = ThreadScheduler.INSTANCE.start("test-storage", writer::step);
        writer.bind(loop);
    }

    @AfterEach
    void stop() throws InterruptedException {
        log.release();
        writer.stop();
        if (loop != null) {
            assertThat(loop.join(WAIT.toMillis())).isTrue();
        }
    }

    @Test
    void tasksQueuedDuringASyncShareTheNextSyncAndTheirMessagesLeaveInOrderAfterIt() {
        log.holdNextSync();
        startLoop();
        writer.submit(new StorageWriter.Task(null, entries(1, 2, 1), List.of(ack(1))));
        Await.await(WAIT, log::syncHeld, () -> "the first sync to start");

        // Nothing to persist, but its message may promise what the first task is still syncing.
        writer.submit(new StorageWriter.Task(null, List.of(), List.of(ack(2))));
        writer.submit(new StorageWriter.Task(new TermAndVote(2, "n2"), entries(3, 3, 2), List.of(ack(3))));
        writer.submit(new StorageWriter.Task(null, entries(4, 5, 2), List.of(ack(4))));
        assertThat(transport.sent()).isEmpty();

        log.release();
        Await.await(WAIT, () -> transport.sent().size() == 4, () -> "4 messages, got " + transport.sent());
        assertThat(transport.sent()).containsExactly(ack(1), ack(2), ack(3), ack(4));
        assertThat(log.syncCount()).as("one sync for the first task, one for the group of three").isEqualTo(2);
        assertThat(termVoteStore.load()).isEqualTo(new TermAndVote(2, "n2"));
        assertThat(log.lastIndex()).isEqualTo(5);
        assertThat(drainReports()).containsExactly(new Inbox.Persisted(2, 1), new Inbox.Persisted(5, 2));
        assertThat(failure.get()).isNull();
    }

    @Test
    void entriesStartingInsideTheLogReplaceTheConflictingSuffix() {
        startLoop();
        writer.submit(new StorageWriter.Task(null, entries(1, 3, 1), List.of()));
        writer.submit(new StorageWriter.Task(null, entries(2, 2, 2), List.of(ack(1))));
        Await.await(WAIT, () -> transport.sent().size() == 1);
        assertThat(log.lastIndex()).isEqualTo(2);
        assertThat(log.term(1)).isEqualTo(1);
        assertThat(log.term(2)).isEqualTo(2);
    }

    @Test
    void syncFailureStopsTheWriterWithoutSendingItsMessages() {
        log.failSyncs();
        startLoop();
        writer.submit(new StorageWriter.Task(null, entries(1, 1, 1), List.of(ack(1))));
        Await.await(WAIT, () -> failure.get() != null);
        assertThat(failure.get()).hasMessage("simulated fsync failure");
        assertThat(transport.sent()).isEmpty();
        assertThat(drainReports()).isEmpty();
    }

    private List<Object> drainReports() {
        List<Object> out = new ArrayList<>();
        Object o;
        while ((o = inbox.pollLocal()) != null) {
            out.add(o);
        }
        return out;
    }

    private static List<Entry> entries(long from, long to, long term) {
        List<Entry> out = new ArrayList<>();
        for (long i = from; i <= to; i++) {
            out.add(Entry.command(i, term, new byte[] {(byte) i}));
        }
        return out;
    }

    private static RaftMessage ack(int n) {
        return new HeartbeatReply("n1", "n2", 1, n);
    }

    /** Records what is sent. */
    static final class CapturingTransport implements Transport {
        private final List<Message> sent = Collections.synchronizedList(new ArrayList<>());

        List<Message> sent() {
            synchronized (sent) {
                return List.copyOf(sent);
            }
        }

        @Override
        public void start(MessageHandler handler) {
        }

        @Override
        public void send(Message message) {
            sent.add(message);
        }

        @Override
        public void close() {
        }
    }
}
