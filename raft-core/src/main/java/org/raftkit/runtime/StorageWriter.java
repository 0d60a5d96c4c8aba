package org.raftkit.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

import org.raftkit.message.Entry;
import org.raftkit.message.RaftMessage;
import org.raftkit.spi.LogStorage;
import org.raftkit.spi.TermVoteStore;
import org.raftkit.spi.TermVoteStore.TermAndVote;
import org.raftkit.spi.Transport;

/**
 * The storage thread ({@code raftkit-<id>-storage}): makes each {@code Ready}'s term, vote and
 * entries durable, then sends the messages that promised them (Ready steps 2 and 3).
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
 * <h2>Failure</h2>
 * An exception from storage is fatal: the thread reports it through {@link FailStop} and ends
 * without sending anything more (fail-stop), so this node never acknowledges what it may not hold.
 */
final class StorageWriter implements Runnable {

    /**
     * One {@code Ready}'s persistence work.
     *
     * @param termAndVote          to save first, or null
     * @param entries              to append, in index order; may start at or below storage's last index
     * @param messagesAfterPersist to send once the above is durable
     */
    record Task(TermAndVote termAndVote, List<Entry> entries, List<RaftMessage> messagesAfterPersist) {
    }

    private static final Task STOP = new Task(null, List.of(), List.of());

    private final LogStorage log;
    private final TermVoteStore termVoteStore;
    private final Transport transport;
    private final Inbox raftInbox;
    private final FailStop failStop;
    private final RuntimeMetrics metrics;
    private final LinkedBlockingQueue<Task> queue = new LinkedBlockingQueue<>();
    private volatile boolean stopping;

    StorageWriter(LogStorage log, TermVoteStore termVoteStore, Transport transport, Inbox raftInbox,
                  FailStop failStop, RuntimeMetrics metrics) {
        this.metrics = metrics;
        this.log = log;
        this.termVoteStore = termVoteStore;
        this.transport = transport;
        this.raftInbox = raftInbox;
        this.failStop = failStop;
    }

    /** Queues a task; Raft thread. Never blocks (the queue is bounded by what the core hands out). */
    void submit(Task task) {
        queue.add(task);
    }

    /** Tasks waiting to be written; any thread (for metrics). */
    int queued() {
        return queue.size();
    }

    /** Asks the thread to end after the group it is writing; any thread. Nothing more is sent. */
    void stop() {
        stopping = true;
        queue.add(STOP);
    }

    @Override
    public void run() {
        List<Task> group = new ArrayList<>();
        try {
            while (!stopping) {
                group.add(queue.take());
                queue.drainTo(group);
                if (!writeGroup(group)) {
                    return;
                }
                group.clear();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            failStop.failStop("storage", e);
        }
    }

    /**
     * Writes one group, syncs once, sends its messages, reports what is durable.
     *
     * @return false if the group held the stop marker (tasks before it are still completed)
     */
    private boolean writeGroup(List<Task> group) {
        int end = 0;
        while (end < group.size() && group.get(end) != STOP) { // identity: a record's equals would compare values
            end++;
        }
        boolean stop = end < group.size();
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
        int entryCount = 0;
        for (int i = 0; i < end; i++) {
            Task task = group.get(i);
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
        }
        if (last != null) {
            log.sync();
        }
        if (last != null || newest != null) {
            metrics.synced(start, entryCount);
        }
        if (stopping) {
            return false; // closing or failed: promise nothing more
        }
        for (int i = 0; i < end; i++) {
            for (RaftMessage m : group.get(i).messagesAfterPersist()) {
                transport.send(m);
            }
        }
        if (last != null) {
            raftInbox.postLocal(new Inbox.Persisted(last.index(), last.term()));
        }
        return !stop;
    }
}
