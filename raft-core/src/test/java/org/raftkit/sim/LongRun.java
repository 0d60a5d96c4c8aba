package org.raftkit.sim;

/**
 * The long run of docs/TESTING.md outside Maven: {@code NodeSimulation} over {@code count} seeds
 * from {@code first}, one JVM, printing a {@code FAILED seed=S} line (with the first line of the
 * failure and the command that replays it) per failing seed and one {@code CHUNK} line at the end.
 * Run chunks of it side by side, one per core.
 */
public final class LongRun {

    private LongRun() {
    }

    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: LongRun FIRST_SEED COUNT");
            System.exit(2);
        }
        long first = Long.parseLong(args[0]);
        long count = Long.parseLong(args[1]);
        long failures = 0;
        long start = System.nanoTime();
        for (long seed = first; seed < first + count; seed++) {
            NodeSimulation.Result r = new NodeSimulation(seed).run();
            if (!r.passed()) {
                failures++;
                System.out.println("FAILED seed=" + seed + ": " + r.failure().lines().findFirst().orElse("")
                        + "\n  replay: mvn -B -q -pl raft-core test -Dtest=NodeSimulationTest -Dsim.seeds=1 -Dsim.seed=" + seed);
            }
        }
        System.out.printf("CHUNK first=%d seeds=%d failures=%d %.1f s%n", first, count, failures,
                (System.nanoTime() - start) / 1e9);
    }
}
