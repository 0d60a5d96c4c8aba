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
 * Entries before {@code logStart} were compacted into a snapshot (Raft paper §7): the log answers
 * only the term of the entry just before it. The core's own view of where the log starts moves
 * at once when it asks for compaction or installs a snapshot; storage follows on the storage
 * thread (possibly keeping more, as whole segments), and is never read below the core's view.
 *
 * <p>The core never writes storage itself. New entries go to the unstable tail; {@link #takeUnpersisted}
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

    /**
     * First index the core reads. Invariant: storage.firstIndex() <= logStart (storage may lag
     * behind a compaction or hold more), logStart - 1 <= commitIndex.
     */
    private long logStart;
    /** Term of the entry at logStart - 1 (0 before the first entry). */
    private long logStartTerm;

    /** Last included index and term of the newest snapshot this node holds (0, 0 if none). Only grows. */
    private long snapshotIndex;
    private long snapshotTerm;

    /** The configurations in this log (thesis §4.1), kept in step with every change to it. */
    private final ConfigurationHistory configurations;

    /**
     * @param storage       the log as it is on disk
     * @param snapshotIndex last included index of the newest snapshot the state machine starts
     *                      from (0 if none); the storage must hold the entry at it, or start right
     *                      after it (the runtime repairs storage before building the core)
     * @param snapshotTerm  its term
     * @param configuration the configuration at {@code snapshotIndex} (the snapshot's, or the one the
     *                      cluster was built with when there is no snapshot); configuration entries
     *                      after it are read from storage
     */
    RaftLog(LogStorage storage, long snapshotIndex, long snapshotTerm, Configuration configuration) {
        this.storage = storage;
        long first = storage.firstIndex();
        long last = storage.lastIndex();
        if (snapshotIndex < first - 1 || snapshotIndex > last) {
            throw new IllegalArgumentException("the log holds [" + first + ", " + last
                    + "] but the state starts from a snapshot at " + snapshotIndex);
        }
        this.unstableOffset = last + 1;
        this.handedOutIndex = last;
        this.logStart = first;
        this.logStartTerm = first == 1 ? 0 : storage.term(first - 1);
        this.snapshotIndex = snapshotIndex;
        this.snapshotTerm = snapshotTerm;
        // Entries in the snapshot (and before the log's first one) are committed and applied.
        this.commitIndex = snapshotIndex;
        this.applyHandedOutIndex = snapshotIndex;
        this.configurations = new ConfigurationHistory(snapshotIndex, configuration);
        // The configurations after the snapshot are in the entries: read them once, in batches.
        for (long from = Math.max(snapshotIndex + 1, first); from <= last; ) {
            List<Entry> batch = storage.entries(from, last + 1, CONFIGURATION_SCAN_BYTES);
            for (Entry e : batch) {
                configurations.onAppended(e);
            }
            from = batch.get(batch.size() - 1).index() + 1;
        }
    }

    /** Bytes read per batch when scanning the log for configurations at start. */
    private static final long CONFIGURATION_SCAN_BYTES = 4L << 20;

    ConfigurationHistory configurations() {
        return configurations;
    }

    long firstIndex() {
        return logStart;
    }

    long snapshotIndex() {
        return snapshotIndex;
    }

    long snapshotTerm() {
        return snapshotTerm;
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
        if (index < logStart - 1) {
            return -1; // compacted, index 0 included once the log starts later
        }
        if (index == logStart - 1) {
            return logStartTerm;
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
        configurations.onAppended(entry);
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
            configurations.onAppended(entries.get(i));
        }
        return prevLogIndex + entries.size();
    }

    private void truncateFrom(long index) {
        configurations.truncateFrom(index); // an uncommitted configuration goes: the one before is back (§4.1)
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
        if (from < logStart || to > lastIndex() + 1) {
            throw new IndexOutOfBoundsException("entries [" + from + ", " + to + ") outside log ["
                    + logStart + ", " + lastIndex() + "]");
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
        long floor = logStart - 1;
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
        long floor = Math.max(commitIndex + 1, logStart);
        while (i - 1 >= floor && term(i - 1) == term) {
            i--;
        }
        return i;
    }

    // ---------------------------------------------------------------------------------------------
    // Snapshots (§7, Figure 13)
    // ---------------------------------------------------------------------------------------------

    /** A snapshot of this node's state at {@code index} (with {@code term} there) is durable. */
    void snapshotTaken(long index, long term) {
        if (index > snapshotIndex) {
            snapshotIndex = index;
            snapshotTerm = term;
        }
    }

    /**
     * Stops reading entries up to {@code upTo}, which the driver may now delete: never past the
     * newest snapshot, nor past what is durable here (storage cannot drop what it does not hold yet).
     *
     * @return the index compacted up to, or -1 if nothing new
     */
    long compactTo(long upTo) {
        long to = Math.min(upTo, Math.min(snapshotIndex, durableIndex()));
        if (to < logStart) {
            return -1;
        }
        logStartTerm = term(to);
        logStart = to + 1;
        configurations.compactTo(to);
        return to;
    }

    /** What installing a snapshot did to the log. */
    enum Install {
        /** The snapshot is not ahead of what is committed here: nothing changed. */
        NOTHING,
        /** The log holds the snapshot's last entry: it is kept, and the entries after it (rule 6). */
        RETAINED,
        /** The log does not: it was discarded whole and starts after the snapshot (rule 7). */
        DISCARDED
    }

    /**
     * InstallSnapshot receiver rules 6 and 7 (Figure 13), once the snapshot file is durable here:
     * "If existing log entry has same index and term as snapshot's last included entry, retain log
     * entries following it. Discard the entire log." Either way the state machine is then reset
     * from the snapshot, so everything up to its index counts as committed and applied.
     */
    Install installSnapshot(long index, long term, Configuration configuration) {
        if (index <= commitIndex) {
            return Install.NOTHING;
        }
        snapshotTaken(index, term);
        Install result;
        if (term(index) == term) {
            result = Install.RETAINED;
        } else {
            unstable.clear();
            unstableOffset = index + 1;
            handedOutIndex = index;
            logStart = index + 1;
            logStartTerm = term;
            result = Install.DISCARDED;
        }
        commitIndex = index;
        applyHandedOutIndex = index;
        configurations.install(index, configuration == null ? configurations.at(index).configuration() : configuration,
                result == Install.DISCARDED);
        return result;
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
        if (logStart - 1 > commitIndex || logStart - 1 > snapshotIndex) {
            throw new IllegalStateException("log starts at " + logStart + " past commitIndex " + commitIndex
                    + " or snapshot " + snapshotIndex);
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
