package org.raftkit.examples.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.raftkit.RaftConfig;
import org.raftkit.SnapshotConfig;
import org.raftkit.storage.SegmentedLogStorage;

/**
 * The tuning flags {@code serve} and {@code cluster} share (docs/OPERATIONS.md, "Tuning the
 * election timeout" and "Snapshots"): {@code cluster} checks them and hands them to every node it
 * starts.
 */
final class RaftFlags {

    /** Flag names, without the dashes. */
    static final Set<String> NAMES = Set.of("fsync", "election-timeout-min", "election-timeout-max",
            "heartbeat-interval", "snapshot-entries", "snapshot-bytes", "snapshot-interval", "snapshot-trailing", "segment-bytes",
            "lease-reads");

    private RaftFlags() {
    }

    /** {@link RaftConfig#defaults()} with the timeouts the flags set; a bad combination names the flags. */
    static RaftConfig config(Flags f) {
        RaftConfig defaults = RaftConfig.defaults();
        long min = f.millis("election-timeout-min", defaults.electionTimeoutMinMillis());
        long max = f.millis("election-timeout-max", Math.max(defaults.electionTimeoutMaxMillis(), 2 * min));
        long heartbeat = f.millis("heartbeat-interval", Math.min(defaults.heartbeatIntervalMillis(), min / 3));
        // Lease reads are on unless turned off: they are only used by a GET that asks for them
        // (?consistency=lease), and every node must agree on the setting.
        boolean leaseReads = f.bool("lease-reads", true);
        try {
            return defaults.withElectionTimeoutMillis(min, max).withHeartbeatIntervalMillis(heartbeat)
                    .withLeaseReads(leaseReads, RaftConfig.DEFAULT_CLOCK_DRIFT_BOUND);
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException("--election-timeout-min " + min + "ms, --election-timeout-max " + max
                    + "ms and --heartbeat-interval " + heartbeat + "ms do not fit: " + e.getMessage());
        }
    }

    /**
     * {@link SnapshotConfig#defaults()} with the triggers and the trailing window the flags set:
     * {@code --snapshot-entries N}, {@code --snapshot-bytes B}, {@code --snapshot-interval DURATION}
     * (a snapshot is taken when any of the three is reached) and {@code --snapshot-trailing N}.
     */
    static SnapshotConfig snapshotConfig(Flags f) {
        SnapshotConfig defaults = SnapshotConfig.defaults();
        long entries = f.longValue("snapshot-entries", defaults.everyEntries(), 1, Long.MAX_VALUE);
        long bytes = f.bytes("snapshot-bytes", defaults.everyBytes());
        long interval = f.millis("snapshot-interval", defaults.intervalMillis());
        if (interval < 1) {
            throw new Flags.UsageException("--snapshot-interval must be at least 1ms, was '"
                    + f.string("snapshot-interval", "") + "'");
        }
        long trailing = f.longValue("snapshot-trailing", defaults.trailingEntries(), 0, Long.MAX_VALUE);
        return defaults.withTriggers(entries, bytes, interval).withTrailingEntries(trailing);
    }

    /** The snapshot settings and {@code --segment-bytes} (64 MiB by default, 1 KiB .. 1 GiB). */
    static KvNode.LogSettings logSettings(Flags f) {
        SnapshotConfig snapshots = snapshotConfig(f);
        long segmentBytes = f.bytes("segment-bytes", SegmentedLogStorage.Options.DEFAULT_SEGMENT_SIZE_BYTES);
        try {
            return new KvNode.LogSettings(snapshots, segmentBytes);
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException("--segment-bytes " + f.string("segment-bytes", "") + ": " + e.getMessage());
        }
    }

    /** Whether entries are fsync'd before they count ({@code --fsync}, default true). */
    static boolean fsync(Flags f) {
        return f.bool("fsync", true);
    }

    /** The flags as given, checked, for a child {@code serve} command line. */
    static List<String> forServe(Flags f) {
        config(f);
        logSettings(f);
        fsync(f);
        List<String> args = new ArrayList<>();
        for (String name : NAMES.stream().sorted().toList()) {
            String value = f.string(name, null);
            if (value != null) {
                args.add("--" + name);
                args.add(value);
            }
        }
        return args;
    }
}
