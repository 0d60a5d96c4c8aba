package org.raftkit.core;

import java.util.ArrayList;
import java.util.List;

import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;

/**
 * The configurations in a server's log (thesis §4.1), kept by {@link RaftLog} as it changes: the
 * configuration in force at the log's base (the snapshot's, or the one the cluster was built with)
 * and every configuration entry after it. The latest one, committed or not, is the one the server
 * uses; truncating an uncommitted configuration entry brings back the one before it.
 *
 * <p>Invariants: {@code baseIndex} is committed (it is at or below a snapshot, or 0); the entries
 * are in increasing index order, all above {@code baseIndex} and at most the log's last index.
 */
final class ConfigurationHistory {

    /** A configuration and the index of the entry that holds it (0 for the initial one). */
    record Indexed(long index, Configuration configuration) {
    }

    private Indexed base;
    private final ArrayList<Indexed> entries = new ArrayList<>();

    ConfigurationHistory(long baseIndex, Configuration base) {
        this.base = new Indexed(baseIndex, base);
    }

    /** The configuration the server uses: the latest in its log, committed or not. */
    Configuration latest() {
        return entries.isEmpty() ? base.configuration() : entries.get(entries.size() - 1).configuration();
    }

    /** The index of the latest configuration's entry ({@code baseIndex} when the log holds none after it). */
    long latestIndex() {
        return entries.isEmpty() ? base.index() : entries.get(entries.size() - 1).index();
    }

    /** The configuration in force at {@code index}: the latest at or before it. Never below the base. */
    Indexed at(long index) {
        for (int i = entries.size() - 1; i >= 0; i--) {
            if (entries.get(i).index() <= index) {
                return entries.get(i);
            }
        }
        return base;
    }

    /** How many configuration entries of {@code term} lie above {@code index}. */
    int countAbove(long index, long term, java.util.function.LongUnaryOperator termAt) {
        int n = 0;
        for (int i = entries.size() - 1; i >= 0 && entries.get(i).index() > index; i--) {
            if (termAt.applyAsLong(entries.get(i).index()) == term) {
                n++;
            }
        }
        return n;
    }

    /** An entry entered the log at the end. */
    void onAppended(Entry e) {
        if (e.type() == EntryType.CONFIGURATION) {
            // MessageValidator refused malformed configurations from the leader, and a leader
            // encodes its own, so this decodes; if it does not, the log is corrupt and the node stops.
            entries.add(new Indexed(e.index(), Configuration.decode(e.data())));
        }
    }

    /** Entries from {@code index} on were removed (a follower replacing a conflicting suffix, §5.3). */
    void truncateFrom(long index) {
        while (!entries.isEmpty() && entries.get(entries.size() - 1).index() >= index) {
            entries.remove(entries.size() - 1);
        }
    }

    /** Entries up to {@code index} are no longer read (compaction): the configuration at it becomes the base. */
    void compactTo(long index) {
        Indexed at = at(index);
        if (at != base) {
            base = at;
            entries.removeIf(e -> e.index() <= index);
        }
    }

    /**
     * A snapshot at {@code index} holding {@code configuration} was installed; if the log was
     * discarded, every configuration entry went with it.
     */
    void install(long index, Configuration configuration, boolean logDiscarded) {
        base = new Indexed(index, configuration);
        if (logDiscarded) {
            entries.clear();
        } else {
            entries.removeIf(e -> e.index() <= index);
        }
    }

    /** The configuration entries after the base, oldest first (for checkers and tests). */
    List<Indexed> entries() {
        return List.copyOf(entries);
    }

    Indexed base() {
        return base;
    }

    void checkInvariants(long lastIndex) {
        long before = base.index();
        for (Indexed e : entries) {
            if (e.index() <= before) {
                throw new IllegalStateException("configuration history out of order at " + e.index() + ": " + this);
            }
            before = e.index();
        }
        if (before > lastIndex) {
            throw new IllegalStateException("configuration at index " + before + " beyond lastIndex " + lastIndex);
        }
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        parts.add(base.index() + ":" + base.configuration());
        for (Indexed e : entries) {
            parts.add(e.index() + ":" + e.configuration());
        }
        return "ConfigurationHistory" + parts;
    }
}
