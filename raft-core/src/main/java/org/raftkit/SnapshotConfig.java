package org.raftkit;

/**
 * When a node takes snapshots and compacts its log, and how it sends snapshots to followers.
 * Immutable; validated in its only constructor.
 *
 * @param everyEntries       take a snapshot once this many entries were applied since the last
 *                           one. 100,000 by default: at the KV example's apply rate a restart then
 *                           replays about a second of log
 * @param everyBytes         or once this many bytes of entries were applied since the last one.
 *                           64 MiB by default, so large commands do not let the log grow for long
 * @param intervalMillis     or once this much time has passed and something was applied since the
 *                           last one, so a slowly written cluster compacts too. One hour by default
 * @param trailingEntries    entries kept in the log behind the newest snapshot, so a follower a few
 *                           seconds behind catches up from the log rather than by a whole snapshot.
 *                           10,000 by default
 * @param chunkBytes         most snapshot bytes in one InstallSnapshot message. 1 MiB by default:
 *                           large enough to stream at disk speed, well below the transport's frame limit
 * @param chunksInFlight     most chunks sent and not yet acknowledged per follower. 4 by default:
 *                           enough to keep a loopback or LAN link busy, bounded in memory
 * @param transferTimeoutMillis a transfer with no acknowledged chunk for this long resends from the
 *                           last acknowledged offset. 5 s by default: a progress timeout, not a
 *                           deadline, so a large snapshot on a slow link still completes
 */
public record SnapshotConfig(long everyEntries, long everyBytes, long intervalMillis, long trailingEntries,
                             int chunkBytes, int chunksInFlight, long transferTimeoutMillis) {

    public static final long DEFAULT_EVERY_ENTRIES = 100_000;
    public static final long DEFAULT_EVERY_BYTES = 64L << 20;
    public static final long DEFAULT_INTERVAL_MILLIS = 3_600_000;
    public static final long DEFAULT_TRAILING_ENTRIES = 10_000;
    public static final int DEFAULT_CHUNK_BYTES = 1 << 20;
    public static final int DEFAULT_CHUNKS_IN_FLIGHT = 4;
    public static final long DEFAULT_TRANSFER_TIMEOUT_MILLIS = 5_000;

    public SnapshotConfig {
        positive("everyEntries", everyEntries);
        positive("everyBytes", everyBytes);
        positive("intervalMillis", intervalMillis);
        if (trailingEntries < 0) {
            throw new IllegalArgumentException("trailingEntries must not be negative, was " + trailingEntries);
        }
        positive("chunkBytes", chunkBytes);
        positive("chunksInFlight", chunksInFlight);
        positive("transferTimeoutMillis", transferTimeoutMillis);
    }

    /** The defaults above. */
    public static SnapshotConfig defaults() {
        return new SnapshotConfig(DEFAULT_EVERY_ENTRIES, DEFAULT_EVERY_BYTES, DEFAULT_INTERVAL_MILLIS,
                DEFAULT_TRAILING_ENTRIES, DEFAULT_CHUNK_BYTES, DEFAULT_CHUNKS_IN_FLIGHT, DEFAULT_TRANSFER_TIMEOUT_MILLIS);
    }

    public SnapshotConfig withTriggers(long entries, long bytes, long intervalMillis) {
        return new SnapshotConfig(entries, bytes, intervalMillis, trailingEntries, chunkBytes, chunksInFlight,
                transferTimeoutMillis);
    }

    public SnapshotConfig withTrailingEntries(long entries) {
        return new SnapshotConfig(everyEntries, everyBytes, intervalMillis, entries, chunkBytes, chunksInFlight,
                transferTimeoutMillis);
    }

    public SnapshotConfig withChunks(int bytes, int inFlight) {
        return new SnapshotConfig(everyEntries, everyBytes, intervalMillis, trailingEntries, bytes, inFlight,
                transferTimeoutMillis);
    }

    public SnapshotConfig withTransferTimeoutMillis(long millis) {
        return new SnapshotConfig(everyEntries, everyBytes, intervalMillis, trailingEntries, chunkBytes, chunksInFlight,
                millis);
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
    }
}
