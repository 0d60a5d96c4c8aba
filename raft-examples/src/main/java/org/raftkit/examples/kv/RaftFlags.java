package org.raftkit.examples.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.raftkit.RaftConfig;

/**
 * The tuning flags {@code serve} and {@code cluster} share (docs/OPERATIONS.md, "Tuning the
 * election timeout"): {@code cluster} checks them and hands them to every node it starts.
 */
final class RaftFlags {

    /** Flag names, without the dashes. */
    static final Set<String> NAMES = Set.of("fsync", "election-timeout-min", "election-timeout-max",
            "heartbeat-interval");

    private RaftFlags() {
    }

    /** {@link RaftConfig#defaults()} with the timeouts the flags set; a bad combination names the flags. */
    static RaftConfig config(Flags f) {
        RaftConfig defaults = RaftConfig.defaults();
        long min = f.millis("election-timeout-min", defaults.electionTimeoutMinMillis());
        long max = f.millis("election-timeout-max", Math.max(defaults.electionTimeoutMaxMillis(), 2 * min));
        long heartbeat = f.millis("heartbeat-interval", Math.min(defaults.heartbeatIntervalMillis(), min / 3));
        try {
            return defaults.withElectionTimeoutMillis(min, max).withHeartbeatIntervalMillis(heartbeat);
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException("--election-timeout-min " + min + "ms, --election-timeout-max " + max
                    + "ms and --heartbeat-interval " + heartbeat + "ms do not fit: " + e.getMessage());
        }
    }

    /** Whether entries are fsync'd before they count ({@code --fsync}, default true). */
    static boolean fsync(Flags f) {
        return f.bool("fsync", true);
    }

    /** The flags as given, checked, for a child {@code serve} command line. */
    static List<String> forServe(Flags f) {
        config(f);
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
