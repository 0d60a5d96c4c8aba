package org.raftkit.examples.kv;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time a process has used, from {@code /proc/<pid>/stat} (Linux): user plus system time
 * ({@code utime + stime}, fields 14 and 15, in clock ticks). The benchmarks read it for every
 * process before and after their measured window. The resolution is one tick (10 ms at the usual
 * 100 ticks a second), small against the seconds a window uses.
 */
final class ProcStat {

    /** Clock ticks per second ({@code USER_HZ}); 100 on every mainstream Linux build. */
    static final long TICKS_PER_SECOND = 100;

    private ProcStat() {
    }

    /**
     * The CPU time used by process {@code pid} so far, in nanoseconds.
     *
     * @throws IOException if the process is gone or there is no {@code /proc}
     */
    static long cpuNanos(long pid) throws IOException {
        return ticksToNanos(parseCpuTicks(Files.readString(Path.of("/proc", Long.toString(pid), "stat"))));
    }

    /**
     * {@code utime + stime} from the text of a {@code /proc/<pid>/stat} file. The second field, the
     * command name in parentheses, may itself hold spaces and parentheses, so the fields are
     * counted from the last {@code ')'}.
     *
     * @throws IllegalArgumentException if the text does not have that shape
     */
    static long parseCpuTicks(String stat) {
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            throw new IllegalArgumentException("not a /proc/PID/stat line: " + stat);
        }
        // After ") " come field 3 (state), 4, ...: utime is field 14, stime field 15.
        String[] fields = stat.substring(close + 1).trim().split("\\s+");
        if (fields.length < 13) {
            throw new IllegalArgumentException("too few fields in /proc/PID/stat: " + stat);
        }
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }

    /**
     * CPU time and context switches of each thread of process {@code pid}, by thread id: what
     * {@code /proc/<pid>/task/<tid>/stat} and {@code status} say. A thread that ends while it is
     * read is left out.
     */
    static java.util.Map<Long, ThreadUse> threads(long pid) {
        java.util.Map<Long, ThreadUse> use = new java.util.HashMap<>();
        Path tasks = Path.of("/proc", Long.toString(pid), "task");
        try (var dirs = Files.list(tasks)) {
            for (Path task : dirs.toList()) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                    long switches = 0;
                    for (String line : Files.readAllLines(task.resolve("status"))) {
                        if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
                            switches += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        }
                    }
                    use.put(Long.parseLong(task.getFileName().toString()),
                            new ThreadUse(group(name), ticksToNanos(parseCpuTicks(stat)), switches));
                } catch (IOException | RuntimeException e) {
                    // The thread ended while we read it: what it used before is lost either way.
                }
            }
        } catch (IOException e) {
            return use;
        }
        return use;
    }

    /** One thread's name (its group: digits that number a pool's threads left out), CPU and switches so far. */
    record ThreadUse(String group, long cpuNanos, long contextSwitches) {
    }

    /**
     * Threads of one pool under one name: {@code kv-http-n1-3-2} and {@code kv-http-n1-3-1} are both
     * {@code kv-http}, {@code C2 CompilerThre} is {@code C2 CompilerThre}, {@code raftkit-n1-raft}
     * is {@code raftkit-raft}.
     */
    static String group(String threadName) {
        String g = threadName.replaceAll("-n[0-9]+", "").replaceAll("[-#]?[0-9]+$", "").replaceAll("(-[0-9]+)+$", "");
        return g.isEmpty() ? threadName : g;
    }

    static long ticksToNanos(long ticks) {
        return ticks * (1_000_000_000L / TICKS_PER_SECOND);
    }
}
