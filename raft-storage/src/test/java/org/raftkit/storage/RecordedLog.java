package org.raftkit.storage;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.raftkit.message.Entry;

/**
 * A {@link SegmentedLogStorage} on a {@link PowerLossDisk}, with what a crash at each point of the
 * disk's record must leave: the entries acknowledged by the last completed sync (less any
 * truncated since), and the logs it ever held (one per truncation and per reset), of which a
 * recovered log must be a part.
 *
 * <p>A reset (or a truncation) is durable at the next sync, not before: until then a crash may
 * leave the log before it or the log after it. So a checkpoint lists the alternatives a crash
 * image may satisfy; a sync leaves one, and after a reset and a sync the entries acknowledged
 * before the reset are legitimately gone.
 *
 * <p>Test thread only.
 */
final class RecordedLog implements AutoCloseable {

    /**
     * One log this one has held: a truncation, a lost write buffer or a reset starts a new one.
     * {@code entries.get(i - 1)} is index i, for {@code first <= i}; null below (a reset log holds
     * nothing there).
     */
    private record Lineage(List<Entry> entries, long first, long termBeforeFirst) {

        long last() {
            return entries.size();
        }

        /** The same log, cut after {@code last}. */
        Lineage upTo(long last) {
            return new Lineage(new ArrayList<>(entries.subList(0, (int) last)), first, termBeforeFirst);
        }

        /** Term of {@code index} in [first - 1, last]; -1 outside, where this log knows none. */
        long termAt(long index) {
            if (index == 0) {
                return 0;
            }
            if (index == first - 1) {
                return termBeforeFirst;
            }
            return index >= first && index <= last() ? entries.get((int) index - 1).term() : -1;
        }

        /** Whether a log [first, last] holding {@code held}, with {@code termBefore} at first - 1, is part of this one. */
        boolean holds(long from, long to, List<Entry> held, long termBefore) {
            return from >= first && to <= last() && entries.subList((int) from - 1, (int) to).equals(held)
                    && termAt(from - 1) == termBefore;
        }
    }

    /** A crash image holds lineage {@code lineage} at least up to {@code required}, and starts at most one after. */
    private record Requirement(long required, int lineage) {
    }

    /** From {@code position} in the disk's record on, a crash image must meet one of {@code anyOf}. */
    private record Checkpoint(int position, List<Requirement> anyOf) {
    }

    private final Path dir;
    private final SegmentedLogStorage.Options options;
    private final PowerLossDisk disk;
    private final List<Lineage> lineages = new ArrayList<>();
    /** Invariant: positions increase; the last one has a requirement on the current lineage. */
    private final List<Checkpoint> checkpoints = new ArrayList<>();
    private SegmentedLogStorage log;
    /** The disk events of each reset: [first, end). */
    private final List<int[]> resets = new ArrayList<>();
    /** Images checked from a crash in the middle of a reset's events, and of them those that opened as the reset log. */
    private int checkedInsideReset;
    private int openedAsReset;

    /**
     * Opens the log in {@code dir} (recording from now on, the open included): {@code held} is what
     * was written to it before (index 1 first), of which entries up to {@code acknowledged} were
     * synced.
     */
    RecordedLog(Path dir, SegmentedLogStorage.Options options, List<Entry> held, long acknowledged) throws IOException {
        this.dir = dir;
        this.disk = PowerLossDisk.recording(dir);
        this.options = options.withChannelFactory(disk);
        lineages.add(new Lineage(new ArrayList<>(held), 1, 0));
        checkpoints.add(new Checkpoint(0, List.of(new Requirement(acknowledged, 0))));
        log = SegmentedLogStorage.open(dir, this.options);
    }

    PowerLossDisk disk() {
        return disk;
    }

    SegmentedLogStorage log() {
        return log;
    }

    void append(List<Entry> entries) {
        log.append(entries);
        current().entries().addAll(entries);
    }

    /** Syncs; from here on everything appended is acknowledged, and only the current log will do. */
    void sync() {
        log.sync();
        checkpoints.add(new Checkpoint(disk.position(), List.of(new Requirement(log.lastIndex(), currentLineage()))));
    }

    /** Truncates from {@code fromIndex}: from its start on, nothing from there on is required. */
    void truncateSuffix(long fromIndex) {
        lineages.add(current().upTo(fromIndex - 1));
        continueCurrent(fromIndex - 1);
        log.truncateSuffix(fromIndex);
    }

    void compactPrefix(long upToIndex) {
        log.compactPrefix(upToIndex);
    }

    /**
     * Resets to a snapshot of ({@code index}, {@code term}): from its start on, a crash may leave the
     * log before it (as acknowledged so far) or the empty one after {@code index}, until a sync.
     */
    void reset(long index, long term) {
        List<Requirement> anyOf = new ArrayList<>(last().anyOf());
        lineages.add(new Lineage(new ArrayList<>(Collections.nCopies((int) index, (Entry) null)), index + 1, term));
        anyOf.add(new Requirement(index, currentLineage()));
        checkpoints.add(new Checkpoint(disk.position(), anyOf));
        int start = disk.position();
        log.reset(index, term);
        resets.add(new int[] {start, disk.position()});
    }

    /**
     * The process dies (kill -9) and restarts: whatever was still in the log's write buffer is
     * lost, what reached the files stays (unsynced), and the log is opened again.
     */
    void killAndReopen() throws IOException {
        disk.kill();
        log.close();
        disk.revive();
        Lineage lineage = current();
        log = SegmentedLogStorage.open(dir, options);
        if (log.firstIndex() < lineage.first()) {
            throw new AssertionError("a reset finished before the kill, yet the log reopened at " + log.firstIndex()
                    + ", before the reset's start " + lineage.first());
        }
        // Buffered entries died with the process: the log goes on from what reached the file.
        if (log.lastIndex() < lineage.last()) {
            lineages.add(lineage.upTo(log.lastIndex()));
            continueCurrent(Long.MAX_VALUE);
        }
    }

    /** Closes and opens again, as a clean restart. */
    void reopen() throws IOException {
        log.close();
        log = SegmentedLogStorage.open(dir, options);
    }

    /** Entries of the current log acknowledged (and not truncated since) at the latest checkpoint. */
    long required() {
        long required = -1;
        for (Requirement r : last().anyOf()) {
            if (r.lineage() == currentLineage()) {
                required = Math.max(required, r.required());
            }
        }
        return required;
    }

    /** The last index appended. */
    long lastIndex() {
        return current().last();
    }

    /**
     * Why {@code recovered} (opened from a crash image taken at {@code crashPoint} of the disk's
     * record) is wrong, or null if it is right: it holds every acknowledged entry of one of the
     * logs the checkpoint allows, and every entry it holds (and the term before its first) is the
     * one a single lineage had at that index.
     */
    String check(SegmentedLogStorage recovered, int crashPoint) {
        Checkpoint cp = checkpoints.get(0);
        for (Checkpoint c : checkpoints) {
            if (c.position() <= crashPoint) {
                cp = c;
            }
        }
        long first = recovered.firstIndex();
        long last = recovered.lastIndex();
        List<Entry> held = recovered.entries(first, last + 1, Long.MAX_VALUE);
        long termBefore = recovered.term(first - 1);
        List<String> unmet = new ArrayList<>();
        for (int k = 0; k < cp.anyOf().size(); k++) {
            String why = unmet(cp.anyOf().get(k), first, last, held, termBefore);
            if (why == null) {
                unmet.clear();
                if (insideReset(crashPoint)) {
                    checkedInsideReset++;
                    openedAsReset += k > 0 ? 1 : 0; // the log before the reset comes first
                }
                break;
            }
            unmet.add(why);
        }
        if (!unmet.isEmpty()) {
            return String.join("; nor the log before or after a reset: ", unmet);
        }
        for (Lineage lineage : lineages) {
            if (lineage.holds(first, last, held, termBefore)) {
                return null;
            }
        }
        return "entries [" + first + ", " + last + "] (term " + termBefore + " before) are not what any log held";
    }

    /**
     * How many images {@link #check} passed from a crash after some but not all of a reset's disk
     * events, and how many of them opened as the reset log.
     */
    int[] resetImages() {
        return new int[] {checkedInsideReset, openedAsReset};
    }

    private boolean insideReset(int crashPoint) {
        for (int[] r : resets) {
            if (r[0] < crashPoint && crashPoint < r[1]) {
                return true;
            }
        }
        return false;
    }

    /** Why the recovered log [first, last] does not meet {@code r}, or null if it does. */
    private String unmet(Requirement r, long first, long last, List<Entry> held, long termBefore) {
        Lineage acknowledged = lineages.get(r.lineage());
        if (last < r.required()) {
            return "lost acknowledged entries: last index " + last + ", acknowledged up to " + r.required();
        }
        if (first > r.required() + 1) {
            return "first index " + first + " is past acknowledged entries up to " + r.required();
        }
        for (long i = first; i <= r.required(); i++) {
            Entry expected = acknowledged.entries().get((int) i - 1);
            if (expected == null) {
                return "holds entry " + i + " from before the reset to start at " + acknowledged.first();
            }
            if (!held.get((int) (i - first)).equals(expected)) {
                return "acknowledged entry " + i + " changed: " + held.get((int) (i - first));
            }
        }
        if (termBefore != acknowledged.termAt(first - 1)) {
            return "term of index " + (first - 1) + " is " + termBefore + ", acknowledged "
                    + acknowledged.termAt(first - 1);
        }
        return null;
    }

    /**
     * A new lineage continues the current one: requirements on the old current one move to it, at
     * most {@code upTo}; requirements on others (the log before a reset) stay.
     */
    private void continueCurrent(long upTo) {
        int previous = currentLineage() - 1;
        List<Requirement> anyOf = new ArrayList<>();
        for (Requirement r : last().anyOf()) {
            anyOf.add(r.lineage() == previous ? new Requirement(Math.min(r.required(), upTo), currentLineage()) : r);
        }
        checkpoints.add(new Checkpoint(disk.position(), anyOf));
    }

    private Checkpoint last() {
        return checkpoints.get(checkpoints.size() - 1);
    }

    private Lineage current() {
        return lineages.get(lineages.size() - 1);
    }

    private int currentLineage() {
        return lineages.size() - 1;
    }

    @Override
    public void close() {
        log.close();
    }
}
