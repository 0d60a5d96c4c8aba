package org.raftkit.storage.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code --name value} flags for the benchmark mains. A wrong flag or value prints one line naming
 * it and exits with status 2, as the mains' usage promises.
 */
final class BenchArgs {

    private final String program;
    private final Map<String, String> values = new HashMap<>();

    private BenchArgs(String program) {
        this.program = program;
    }

    /** Parses {@code args}; every flag takes a value and must be one of {@code known}. */
    static BenchArgs parse(String program, String[] args, Set<String> known, Set<String> switches) {
        BenchArgs a = new BenchArgs(program);
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            if (!known.contains(flag) && !switches.contains(flag)) {
                List<String> all = new ArrayList<>(known);
                all.addAll(switches);
                Collections.sort(all);
                a.fail("unknown flag " + flag + " (known: " + String.join(", ", all) + ")");
            }
            if (switches.contains(flag)) {
                a.values.put(flag, "true");
                continue;
            }
            if (i + 1 >= args.length) {
                a.fail("flag " + flag + " needs a value");
            }
            a.values.put(flag, args[++i]);
        }
        return a;
    }

    /** A positive integer flag, or its default. */
    long positive(String flag, long defaultValue) {
        String v = values.get(flag);
        if (v == null) {
            return defaultValue;
        }
        try {
            long n = Long.parseLong(v);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        fail("flag " + flag + " needs a positive whole number, got \"" + v + "\"");
        return 0; // unreachable: fail exits
    }

    /** A text flag, or its default (may be null). */
    String text(String flag, String defaultValue) {
        return values.getOrDefault(flag, defaultValue);
    }

    /** Whether a switch was given. */
    boolean has(String flag) {
        return values.containsKey(flag);
    }

    /** Prints one line naming the problem and exits with status 2. */
    void fail(String problem) {
        System.err.println(program + ": " + problem);
        System.exit(2);
    }
}
