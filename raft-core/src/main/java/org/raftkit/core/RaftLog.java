package org.raftkit.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

import org.raftkit.message.Entry;
import org.raftkit.spi.LogStorage;

/**
 * The core's view of the Raft log: a durable prefix in {@link LogStorage} and a tail of entries
 * not yet known to be durable, kept in memory.
 *
 * <pre>
 *   storage (durable)             unstable (in memory)
 *   [firstIndex ... unstableOffset-1][unstableOffset ... lastIndex]
 *                                      ^ handed to the driver up to handedOutIndex
 * </pre>
 *
 * The core never writes storage itself. New entries go to the unstable tail; {@link #takeUnpersisted}
 * hands them to the driver, which writes them on its storage thread and reports back through
 * {@link #persistedTo}; only then do they leave the tail. Reads below {@code unstableOffset} go
 * to storage, which the core therefore only ever reads at indexes already durable.
 */
final class RaftLog {

    /** Initial capacity of a list of entries read; ranges can be far longer than what limits let through. */
    private static final int CAPACITY_HINT = 256;

    private final LogStorage storage;

    /** Entries from {@code unstableOffset} on, not yet reported durable. */
    private final ArrayList<Entry> unstable = new ArrayList<>();

    /** Index of {@code unstable.get(0)}. Invariant: every index below it is durable in storage. */
    private long unstableOffset;

    /** Last index handed to the driver to persist. Invariant: unstableOffset - 1 <= handedOutIndex <= lastIndex. */
    private long handedOutIndex;

    /** Index of highest log entry known to be committed (Figure 2). Invariant: commitIndex <= lastIndex. */
    private long commitIndex;

    /** Last committed index handed to the driver to apply. Invariant: appliedHandedOut <= commitIndex. */
    private long applyHandedOutIndex;

    RaftLog(LogStorage storage) {
        this.storage = storage;
        long last = storage.lastIndex();
        this.unstableOffset = last + 1;
        this.handedOutIndex = last;
        // Entries before the first one held are in a snapshot and so committed and applied.
        this.commitIndex = storage.firstIndex() - 1;
        this.applyHandedOutIndex = commitIndex;
    }

    long firstIndex() {
        return storage.firstIndex();
    }

    long lastIndex() {
        return unstableOffset + unstable.size() - 1;
    }

    long lastTerm() {
        return term(lastIndex());
    }

    /** Last index known durable on this node: what a leader counts as its own matchIndex. */
    long durableIndex() {
        return unstableOffset - 1;
    }

    long commitIndex() {
        return commitIndex;
    }

    long applyHandedOutIndex() {
        return applyHandedOutIndex;
    }

    /**
     * Term of the entry at {@code index}; 0 for index 0; {@code -1} if the index is past the end or
     * compacted away (before {@code firstIndex() - 1}).
     */
    long term(long index) {
        if (index >= unstableOffset) {
            return index <= lastIndex() ? unstable.get((int) (index - unstableOffset)).term() : -1;
        }
        if (index == 0) {
            return 0;
        }
        if (index < storage.firstIndex() - 1) {
            return -1;
        }
        return storage.term(index);
    }

    boolean matchTerm(long index, long term) {
        return term(index) == term;
    }

    /**
     * §5.4.1 election restriction: a candidate's log is at least as up to date as ours if its last
     * term is later, or the same with an index at least as large.
     */
    boolean isUpToDate(long candidateLastIndex, long candidateLastTerm) {
        long ourLastTerm = lastTerm();
        return candidateLastTerm > ourLastTerm
                || (candidateLastTerm == ourLastTerm && candidateLastIndex >= lastIndex());
    }

    /** Appends an entry created by this node as leader; its index must be lastIndex + 1. */
    void append(Entry entry) {
        assert entry.index() == lastIndex() + 1 : entry + " after " + lastIndex();
        unstable.add(entry);
    }

    /**
     * Figure 2 AppendEntries receiver rules 3 and 4, once rule 2 (prevLogIndex/prevLogTerm match)
     * holds: skip entries we already have, truncate at the first conflicting one, append the rest.
     *
     * @return the index of the last entry of the request, now matching the leader's log
     */
    long appendFromLeader(long prevLogIndex, List<Entry> entries) {
        int skip = 0;
        long last = lastIndex();
        while (skip < entries.size()) {
            Entry e = entries.get(skip);
            if (e.index() > last) {
                break;
            }
            if (term(e.index()) != e.term()) {
                // Rule 3: an existing entry conflicts with a new one; delete it and all that follow.
                if (e.index() <= commitIndex) {
                    // Unreachable: RaftNode.step refuses such a request (MessageValidator), and the
                    // AppendEntries handler skips the part at or below commitIndex. Were it reached,
                    // the core itself would be broken, so the node stops.
                    throw new IllegalStateException("leader sent " + e + " conflicting with committed index "
                            + commitIndex + ": Leader Completeness broken");
                }
                truncateFrom(e.index());
                break;
            }
            skip++;
        }
        for (int i = skip; i < entries.size(); i++) {
            unstable.add(entries.get(i));
        }
        return prevLogIndex + entries.size();
    }

    private void truncateFrom(long index) {
        if (index >= unstableOffset) {
            unstable.subList((int) (index - unstableOffset), unstable.size()).clear();
        } else {
            // The conflict is in the durable part: everything from index on is replaced. Storage still
            // holds the old suffix until the driver truncates it; reads at index and beyond come from
            // the unstable tail from now on, so the stale entries are never seen.
            unstable.clear();
            unstableOffset = index;
        }
        handedOutIndex = Math.min(handedOutIndex, index - 1);
    }

    /**
     * Hands out the entries not yet given to the driver. The driver truncates storage from the
     * first returned index (if storage has entries there) and appends them.
     */
    List<Entry> takeUnpersisted() {
        long last = lastIndex();
        if (handedOutIndex >= last) {
            return Collections.emptyList();
        }
        int from = (int) (handedOutIndex + 1 - unstableOffset);
        // One copy: the driver keeps this list while the tail moves on.
        List<Entry> out = Arrays.asList(unstable.subList(from, unstable.size()).toArray(new Entry[0]));
        handedOutIndex = last;
        return out;
    }

    /**
     * The driver reports that entries up to {@code index} (with that entry's {@code term}) are
     * durable. A report for an entry that has since been truncated is stale and ignored.
     */
    void persistedTo(long index, long term) {
        if (index < unstableOffset || index > handedOutIndex || term(index) != term) {
            return;
        }
        unstable.subList(0, (int) (index - unstableOffset + 1)).clear();
        unstableOffset = index + 1;
    }

    void commitTo(long index) {
        if (index <= commitIndex) {
            return;
        }
        if (index > lastIndex()) {
            throw new IllegalStateException("commitIndex " + index + " beyond lastIndex " + lastIndex());
        }
        commitIndex = index;
    }

    /** Committed entries not yet handed out for applying, at most {@code maxBytes} of them (at least one). */
    List<Entry> takeCommittedToApply(long maxBytes) {
        if (applyHandedOutIndex >= commitIndex) {
            return Collections.emptyList();
        }
        List<Entry> out = entries(applyHandedOutIndex + 1, commitIndex + 1, maxBytes, Integer.MAX_VALUE);
        applyHandedOutIndex = out.get(out.size() - 1).index();
        return out;
    }

    /**
     * Entries in [from, to), stopping once {@code maxBytes} or {@code maxCount} is reached; at least
     * one entry when the range is not empty.
     */
    List<Entry> entries(long from, long to, long maxBytes, int maxCount) {
        if (from >= to) {
            return Collections.emptyList();
        }
        if (from < storage.firstIndex() || to > lastIndex() + 1) {
            throw new IndexOutOfBoundsException("entries [" + from + ", " + to + ") outside log ["
                    + storage.firstIndex() + ", " + lastIndex() + "]");
        }
        List<Entry> out;
        long bytes = 0;
        if (from < unstableOffset) {
            long storedTo = Math.min(to, unstableOffset);
            List<Entry> stored = storage.entries(from, storedTo, maxBytes);
            if (stored.size() >= maxCount) {
                return stored.size() == maxCount ? stored : new ArrayList<>(stored.subList(0, maxCount));
            }
            if (storedTo == to || stored.get(stored.size() - 1).index() < storedTo - 1) {
                return stored; // all of it, or the byte limit stopped us inside the stored part
            }
            out = new ArrayList<>(stored.size() + (int) Math.min(CAPACITY_HINT, to - storedTo));
            for (Entry e : stored) {
                bytes += e.sizeBytes();
                out.add(e);
            }
            from = unstableOffset;
        } else {
            // Sized for a typical batch, not for the range: a range can be a whole log behind.
            out = new ArrayList<>((int) Math.min(CAPACITY_HINT, Math.min(maxCount, to - from)));
        }
        for (long i = from; i < to && out.size() < maxCount; i++) {
            Entry e = unstable.get((int) (i - unstableOffset));
            if (!out.isEmpty() && bytes + e.sizeBytes() > maxBytes) {
                break;
            }
            bytes += e.sizeBytes();
            out.add(e);
        }
        return out;
    }

    /** The last index at or before {@code maxIndex} whose term is {@code term}, or -1 if there is none. */
    long lastIndexOfTerm(long term, long maxIndex) {
        long i = Math.min(maxIndex, lastIndex());
        long floor = storage.firstIndex() - 1;
        while (i > floor) {
            long t = term(i);
            if (t == term) {
                return i;
            }
            if (t < term) {
                return -1;
            }
            i--;
        }
        return -1;
    }

    /** The first index of the run of {@code term} that ends at {@code index}, not going below commitIndex + 1. */
    long firstIndexOfTermEndingAt(long index, long term) {
        long i = index;
        long floor = Math.max(commitIndex + 1, storage.firstIndex());
        while (i - 1 >= floor && term(i - 1) == term) {
            i--;
        }
        return i;
    }

    /** Checks this log's invariants; throws IllegalStateException naming the broken one. */
    void checkInvariants() {
        long last = lastIndex();
        if (commitIndex > last) {
            throw new IllegalStateException("commitIndex " + commitIndex + " > lastIndex " + last);
        }
        if (applyHandedOutIndex > commitIndex) {
            throw new IllegalStateException("applied " + applyHandedOutIndex + " > commitIndex " + commitIndex);
        }
        if (handedOutIndex < unstableOffset - 1 || handedOutIndex > last) {
            throw new IllegalStateException("handedOutIndex " + handedOutIndex + " outside [" + (unstableOffset - 1)
                    + ", " + last + "]");
        }
        long prevTerm = -1;
        for (int i = 0; i < unstable.size(); i++) {
            Entry e = unstable.get(i);
            if (e.index() != unstableOffset + i) {
                throw new IllegalStateException("unstable entry " + e + " at position of index " + (unstableOffset + i));
            }
            if (e.term() < prevTerm) {
                throw new IllegalStateException("log terms decrease at " + e);
            }
            prevTerm = e.term();
        }
    }
}
