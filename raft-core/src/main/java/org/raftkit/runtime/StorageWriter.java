package org.raftkit.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import org.raftkit.core.Ready;
import org.raftkit.message.Entry;
import org.raftkit.message.RaftMessage;
import org.raftkit.spi.LogStorage;
import org.raftkit.spi.Scheduler;
import org.raftkit.spi.TermVoteStore;
import org.raftkit.spi.TermVoteStore.TermAndVote;
import org.raftkit.spi.Transport;

/**
 * The storage loop ({@code raftkit-<id>-storage}): makes each {@code Ready}'s term, vote and
 * entries durable, then sends the messages that promised them (Ready steps 2 and 3). Each
 * {@link #step()} writes one group; the {@link Scheduler} runs the steps (a thread in production).
 *
 * <h2>Group commit</h2>
 * Tasks are taken FIFO; all tasks queued at once form a group: the group's newest term and vote is
 * saved, each task's entries appended (truncating a conflicting suffix first), then one {@link LogStorage#sync()}
 * covers the whole group, then every task's {@code messagesAfterPersist} leave, then one
 * {@link Inbox.Persisted} report goes to the Raft thread. Under load, one fsync thus serves many
 * proposals and acknowledgements.
 *
 * <p>A {@code Ready} with nothing to persist but messages to send after persisting still comes
 * through this queue: its messages (say, an acknowledgement) may promise entries that an earlier,
 * still running task is writing.
 *
 * <h2>Backpressure</h2>
 * The queue is bounded by what the core hands out (the leader's proposals are bounded by the
 * client budget and the proposal backlog; a follower's entries by the leader's in-flight window),
 * and its bytes are counted ({@link #queuedBytes()}) so that the Raft loop stops feeding it,
 * refusing new proposals and dropping inbound entries, while the disk is far behind.
 *
 * <h2>Failure</h2>
 * An exception from storage is fatal: the thread reports it through {@link FailStop} and ends
 * without sending anything more (fail-stop), so this node never acknowledges what it may not hold.
 */
final class StorageWriter {

    /**
     * One {@code Ready}'s persistence work.
     *
     * @param termAndVote          to save first, or null
     * @param reset                a snapshot installed over the whole log: reset storage to start
     *                             after it, before the entries (Figure 13 rule 7); or null
     * @param entries              to append, in index order; may start at or below storage's last index
     * @param compactTo            after the entries, storage may delete entries up to this index; 0 if not
     * @param messagesAfterPersist to send once the above is durable
     * @param sizeBytes            the entries' size ({@code Entry.sizeBytes()} summed), counted once
     *                             here for the queue's byte count and subtracted again when written
     */
    record Task(TermAndVote termAndVote, Ready.Installed reset, List<Entry> entries, long compactTo,
                List<RaftMessage> messagesAfterPersist, long sizeBytes) {

        Task(TermAndVote termAndVote, Ready.Installed reset, List<Entry> entries, long compactTo,
             List<RaftMessage> messagesAfterPersist) {
            this(termAndVote, reset, entries, compactTo, messagesAfterPersist, sizeOf(entries));
        }

        Task(TermAndVote termAndVote, List<Entry> entries, List<RaftMessage> messagesAfterPersist) {
            this(termAndVote, null, entries, 0, messagesAfterPersist);
        }

        private static long sizeOf(List<Entry> entries) {
            long bytes = 0;
            for (Entry e : entries) {
                bytes += e.sizeBytes();
            }
            return bytes;
        }
    }

    private final LogStorage log;
    private final TermVoteStore termVoteStore;
    private final Transport transport;
    private final Inbox raftInbox;
    private final FailStop failStop;
    private final RuntimeMetrics metrics;
    private final ConcurrentLinkedQueue<Task> queue = new ConcurrentLinkedQueue<>();
    /** Entry bytes queued and not yet written; Raft loop reads it for backpressure. */
    private final AtomicLong queuedBytes = new AtomicLong();
    private final List<Task> group = new ArrayList<>();
    private final LoopHandle loop = new LoopHandle();
    private volatile boolean stopping;
    /** Stamps sampled writes when they are durable here; null (the default) when not tracing. */
    private CommandTrace trace;

    StorageWriter(LogStorage log, TermVoteStore termVoteStore, Transport transport, Inbox raftInbox,
                  FailStop failStop, RuntimeMetrics metrics) {
        this.metrics = metrics;
        this.log = log;
        this.termVoteStore = termVoteStore;
        this.transport = transport;
        this.raftInbox = raftInbox;
        this.failStop = failStop;
    }

    /** Sets the loop that runs {@link #step()}; once, when the node starts. */
    void bind(Scheduler.Loop loop) {
        this.loop.bind(loop);
    }

    /** Stamps sampled writes' local fsync with {@code trace}; before the loop starts. */
    void useTrace(CommandTrace trace) {
        this.trace = trace;
    }

    /** Queues a task; Raft loop. Never blocks (the queue is bounded by what the core hands out). */
    void submit(Task task) {
        queuedBytes.addAndGet(task.sizeBytes());
        queue.add(task);
        loop.wake();
    }

    /** Entry bytes queued and not yet written. Any thread. */
    long queuedBytes() {
        return queuedBytes.get();
    }

    /** Tasks waiting to be written; any thread (for metrics). */
    int queued() {
        return queue.size();
    }

    /** Makes the loop write nothing more and send nothing more after the group under way; any thread. */
    void stop() {
        stopping = true;
        loop.stop();
    }

    /**
     * One turn: writes every task queued now as one group. Storage loop only.
     *
     * @return when to run again, as {@link Scheduler.Step#run()} says
     */
    long step() {
        if (stopping) {
            return Scheduler.Step.IDLE;
        }
        Task t;
        while ((t = queue.poll()) != null) {
            group.add(t);
        }
        if (group.isEmpty()) {
            return Scheduler.Step.IDLE;
        }
        try {
            writeGroup(group);
        } catch (RuntimeException | Error e) {
            stopping = true;
            failStop.failStop("storage", e);
            return Scheduler.Step.IDLE;
        } finally {
            long bytes = 0;
            for (Task done : group) {
                bytes += done.sizeBytes();
            }
            queuedBytes.addAndGet(-bytes);
            group.clear();
        }
        return queue.isEmpty() ? Scheduler.Step.IDLE : Scheduler.Step.AGAIN;
    }

    /** Writes one group, syncs once, sends its messages, reports what is durable. */
    private void writeGroup(List<Task> group) {
        int end = group.size();
        // Only the newest term and vote of the group is saved: no message of the group leaves
        // before the whole group is durable, so the older states are never promised to anyone.
        long start = metrics.now();
        TermAndVote newest = null;
        for (int i = 0; i < end; i++) {
            if (group.get(i).termAndVote() != null) {
                newest = group.get(i).termAndVote();
            }
        }
        if (newest != null) {
            termVoteStore.save(newest); // durable when it returns
        }
        Entry last = null;
        boolean logChanged = false;
        int entryCount = 0;
        for (int i = 0; i < end; i++) {
            Task task = group.get(i);
            if (task.reset() != null) {
                log.reset(task.reset().index(), task.reset().term());
                logChanged = true;
            }
            List<Entry> entries = task.entries();
            if (!entries.isEmpty()) {
                entryCount += entries.size();
                long first = entries.get(0).index();
                if (first <= log.lastIndex()) {
                    // A follower replacing a conflicting suffix (§5.3, AppendEntries receiver rule 3).
                    log.truncateSuffix(first);
                }
                log.append(entries);
                last = entries.get(entries.size() - 1);
            }
            if (task.compactTo() > 0) {
                log.compactPrefix(task.compactTo());
                logChanged = true;
            }
        }
        if (last != null || logChanged) {
            log.sync();
        }
        if (last != null || newest != null) {
            metrics.synced(start, entryCount);
        }
        if (trace != null && last != null) {
            trace.synced(last.index());
        }
        if (stopping) {
            return; // closing or failed: promise nothing more
        }
        for (int i = 0; i < end; i++) {
            for (RaftMessage m : group.get(i).messagesAfterPersist()) {
                transport.send(m);
            }
        }
        if (last != null) {
            raftInbox.postLocal(new Inbox.Persisted(last.index(), last.term()));
        }
    }
}
