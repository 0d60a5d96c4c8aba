package org.raftkit.storage;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.raftkit.message.Entry;

/**
 * A {@link SegmentedLogStorage} on a {@link PowerLossDisk}, with what a crash at each point of the
 * disk's record must leave: the entries acknowledged by the last completed sync (less any
 * truncated since), and the logs it ever held (one per truncation), of which a recovered log must
 * be a prefix.
 *
 * <p>Test thread only.
 */
final class RecordedLog implements AutoCloseable {

    /**
     * From {@code position} in the disk's record on, a crash image must hold at least up to
     * {@code required}, equal to lineage {@code lineage} there.
     */
    private record Checkpoint(int position, long required, int lineage) {
    }

    private final Path dir;
    private final SegmentedLogStorage.Options options;
    private final PowerLossDisk disk;
    /** Every log this one has held: a truncation starts a new one. lineages.get(k).get(i - 1) is index i. */
    private final List<List<Entry>> lineages = new ArrayList<>();
    /** Invariant: positions increase. */
    private final List<Checkpoint> checkpoints = new ArrayList<>();
    private SegmentedLogStorage log;

    /**
     * Opens the log in {@code dir} (recording from now on, the open included): {@code held} is what
     * was written to it before (index 1 first), of which entries up to {@code acknowledged} were
     * synced.
     */
    RecordedLog(Path dir, SegmentedLogStorage.Options options, List<Entry> held, long acknowledged) throws IOException {
        this.dir = dir;
        this.disk = PowerLossDisk.recording(dir);
        this.options = options.withChannelFactory(disk);
        lineages.add(new ArrayList<>(held));
        checkpoints.add(new Checkpoint(0, acknowledged, 0));
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
        current().addAll(entries);
    }

    /** Syncs; from here on everything appended is acknowledged. */
    void sync() {
        log.sync();
        checkpoint(log.lastIndex());
    }

    /** Truncates from {@code fromIndex}: from its start on, nothing from there on is required. */
    void truncateSuffix(long fromIndex) {
        lineages.add(new ArrayList<>(current().subList(0, (int) fromIndex - 1)));
        checkpoint(Math.min(required(), fromIndex - 1));
        log.truncateSuffix(fromIndex);
    }

    void compactPrefix(long upToIndex) {
        log.compactPrefix(upToIndex);
    }

    /**
     * The process dies (kill -9) and restarts: whatever was still in the log's write buffer is
     * lost, what reached the files stays (unsynced), and the log is opened again.
     */
    void killAndReopen() throws IOException {
        disk.kill();
        log.close();
        disk.revive();
        List<Entry> lineage = current();
        log = SegmentedLogStorage.open(dir, options);
        // Buffered entries died with the process: the log goes on from what reached the file.
        if (log.lastIndex() < lineage.size()) {
            lineages.add(new ArrayList<>(lineage.subList(0, (int) log.lastIndex())));
            checkpoint(required());
        }
    }

    /** Closes and opens again, as a clean restart. */
    void reopen() throws IOException {
        log.close();
        log = SegmentedLogStorage.open(dir, options);
    }

    /** Entries acknowledged (and not truncated since) at the latest checkpoint. */
    long required() {
        return checkpoints.get(checkpoints.size() - 1).required();
    }

    /** The last index appended. */
    long lastIndex() {
        return current().size();
    }

    /**
     * Why {@code recovered} (opened from a crash image taken at {@code crashPoint} of the disk's
     * record) is wrong, or null if it is right: it holds every acknowledged entry, and every entry
     * it holds is the one a single lineage had at that index.
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
        if (last < cp.required()) {
            return "lost acknowledged entries: last index " + last + ", acknowledged up to " + cp.required();
        }
        if (first > cp.required() + 1) {
            return "first index " + first + " is past acknowledged entries up to " + cp.required();
        }
        List<Entry> held = recovered.entries(first, last + 1, Long.MAX_VALUE);
        List<Entry> acknowledged = lineages.get(cp.lineage());
        for (long i = first; i <= cp.required(); i++) {
            if (!held.get((int) (i - first)).equals(acknowledged.get((int) i - 1))) {
                return "acknowledged entry " + i + " changed: " + held.get((int) (i - first));
            }
        }
        for (List<Entry> lineage : lineages) {
            if (lineage.size() >= last && lineage.subList((int) first - 1, (int) last).equals(held)) {
                return null;
            }
        }
        return "entries [" + first + ", " + last + "] are not what any log held";
    }

    private List<Entry> current() {
        return lineages.get(lineages.size() - 1);
    }

    private void checkpoint(long required) {
        checkpoints.add(new Checkpoint(disk.position(), required, lineages.size() - 1));
    }

    @Override
    public void close() {
        log.close();
    }
}
