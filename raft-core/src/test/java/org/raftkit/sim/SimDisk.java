package org.raftkit.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.message.Entry;
import org.raftkit.spi.LogStorage;
import org.raftkit.spi.TermVoteStore;

/**
 * One node's disk in the whole-node simulator, which outlives the node's incarnations. Each
 * incarnation opens a {@link Log} view: appends and truncations show at once in what that
 * incarnation reads, and reach the durable image only at {@code sync()}. Term and vote are durable
 * when {@code save} returns, as {@link TermVoteStore} promises.
 *
 * <p>Faults: a crash aimed at a sync ({@link #armCrashAtNextSync}) makes that sync not happen and
 * the incarnation crash right after its turn, keeping a random prefix of the unsynced writes, the
 * last possibly cut short, as a real disk may; and {@link #loseTail} drops synced entries from the
 * end, as a disk that lied about its fsync does.
 */
final class SimDisk {

    /** Told of everything that becomes part of the log or durable, for the safety checks. */
    interface Observer {
        void onEntriesInLog(String node, long prevTerm, List<Entry> entries);

        void onTermAndVoteDurable(String node, TermVoteStore.TermAndVote state);
    }

    private final String nodeId;
    private final Observer observer;
    private final MemoryLogStorage durable = new MemoryLogStorage();
    private TermVoteStore.TermAndVote durableTermAndVote = new TermVoteStore.TermAndVote(0, null);
    private Log current;
    private boolean crashAtNextSync;
    /** Set by a sync that a crash interrupted: the incarnation must crash now. */
    boolean crashing;

    SimDisk(String nodeId, Observer observer) {
        this.nodeId = nodeId;
        this.observer = observer;
    }

    /** Opens the log as a new incarnation sees it: what was durable. */
    Log openLog() {
        current = new Log(durable.copy());
        crashing = false;
        crashAtNextSync = false;
        return current;
    }

    TermStore openTermVoteStore() {
        return new TermStore();
    }

    long durableLastIndex() {
        return durable.lastIndex();
    }

    /** The durable log's term at {@code index}, or -1 if it holds no such entry. */
    long durableTerm(long index) {
        return index >= durable.firstIndex() && index <= durable.lastIndex() ? durable.term(index) : -1;
    }

    TermVoteStore.TermAndVote durableTermAndVote() {
        return durableTermAndVote;
    }

    void armCrashAtNextSync() {
        crashAtNextSync = true;
    }

    /** Takes back a crash armed and not yet fired (the faults are over). */
    void disarm() {
        crashAtNextSync = false;
    }

    /**
     * The incarnation crashed: its writes since the last sync reach the disk only in part (a
     * random prefix, the last one possibly cut short).
     */
    void crash(SplittableRandom random) {
        if (current == null) {
            return;
        }
        List<Runnable> kept = new ArrayList<>();
        List<Object[]> pending = current.unsynced;
        int keep = pending.isEmpty() ? 0 : random.nextInt(pending.size() + 1);
        for (int i = 0; i < keep; i++) {
            Object[] op = pending.get(i);
            if (op[0] instanceof Long from) {
                kept.add(() -> truncateDurable(from));
            } else {
                @SuppressWarnings("unchecked")
                List<Entry> entries = (List<Entry>) op[1];
                List<Entry> part = i == keep - 1 && random.nextBoolean()
                        ? entries.subList(0, random.nextInt(entries.size() + 1)) : entries;
                kept.add(() -> appendDurable(part));
            }
        }
        kept.forEach(Runnable::run);
        current = null;
        crashing = false;
        crashAtNextSync = false;
    }

    /** Drops up to {@code count} entries from the end of the durable log (a disk that lost synced data). */
    void loseTail(long count) {
        long from = Math.max(durable.firstIndex(), durable.lastIndex() - count + 1);
        if (from <= durable.lastIndex()) {
            durable.truncateSuffix(from);
        }
    }

    private void truncateDurable(long from) {
        if (from <= durable.lastIndex()) {
            durable.truncateSuffix(from);
        }
    }

    private void appendDurable(List<Entry> entries) {
        if (entries.isEmpty()) {
            return;
        }
        long first = entries.get(0).index();
        if (first <= durable.lastIndex()) {
            durable.truncateSuffix(first);
        }
        durable.append(entries);
    }

    /** An incarnation's view of the log. */
    final class Log implements LogStorage {

        private final MemoryLogStorage visible;
        /** Writes since the last sync, in order: {Long from} for a truncation, {null, entries} for an append. */
        private final List<Object[]> unsynced = new ArrayList<>();

        Log(MemoryLogStorage visible) {
            this.visible = visible;
        }

        @Override
        public long firstIndex() {
            return visible.firstIndex();
        }

        @Override
        public long lastIndex() {
            return visible.lastIndex();
        }

        @Override
        public long term(long index) {
            return visible.term(index);
        }

        @Override
        public List<Entry> entries(long fromIndex, long toIndex, long maxBytes) {
            return visible.entries(fromIndex, toIndex, maxBytes);
        }

        @Override
        public void append(List<Entry> entries) {
            if (entries.isEmpty()) {
                return;
            }
            long prevTerm = visible.term(entries.get(0).index() - 1);
            visible.append(entries);
            observer.onEntriesInLog(nodeId, prevTerm, entries);
            unsynced.add(new Object[] {null, List.copyOf(entries)});
        }

        @Override
        public void truncateSuffix(long fromIndex) {
            visible.truncateSuffix(fromIndex);
            unsynced.add(new Object[] {fromIndex});
        }

        @Override
        public void sync() {
            if (current != this) {
                return; // a crashed incarnation's late turn: its disk is gone
            }
            if (crashAtNextSync) {
                crashAtNextSync = false;
                crashing = true; // the power fails during this fsync: nothing of it is durable yet
                return;
            }
            if (crashing) {
                return;
            }
            for (Object[] op : unsynced) {
                if (op[0] instanceof Long from) {
                    truncateDurable(from);
                } else {
                    @SuppressWarnings("unchecked")
                    List<Entry> entries = (List<Entry>) op[1];
                    appendDurable(entries);
                }
            }
            unsynced.clear();
        }

        @Override
        public void close() {
        }
    }

    /** An incarnation's term/vote store: durable at once. */
    final class TermStore implements TermVoteStore {

        @Override
        public TermAndVote load() {
            return durableTermAndVote;
        }

        @Override
        public void save(TermAndVote state) {
            if (crashing) {
                return; // the node is going down; nothing it saves now survives
            }
            durableTermAndVote = state;
            observer.onTermAndVoteDurable(nodeId, state);
        }

        @Override
        public void close() {
        }
    }
}
