package org.raftkit.examples.kv;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.raftkit.RaftServer;

/**
 * {@code bench --mode reads}: the three kinds of read side by side on one in-JVM cluster, each
 * through the leader and through a follower: linearizable ({@code RaftServer.read}, ReadIndex: a
 * heartbeat round per batch of reads), lease ({@code leaseRead}: no round while the leader's lease
 * holds) and stale ({@code staleRead}: local state, no guarantee). The six runs take turns in
 * {@code --rounds} rounds, so that every kind sees the same machine; each prints its throughput
 * and latency percentiles. A writer keeps {@code --clients / 8} writes in flight all along, so
 * that the reads wait for real commits.
 */
final class KvReadBench {

    private static final int KEYS = 1_000;

    private KvReadBench() {
    }

    /** One kind of read through one node. */
    private record Kind(String name, String through, Function<byte[], CompletableFuture<byte[]>> read) {
    }

    static String drive(List<KvNode> cluster, int clients, long durationMillis, long warmupMillis, int rounds,
                        PrintStream err) throws InterruptedException {
        RaftServer leader = KvBench.awaitLeader(cluster);
        RaftServer follower = cluster.stream().map(KvNode::server).filter(s -> s != leader).findFirst()
                .orElseThrow(() -> new Flags.UsageException("--mode reads needs at least two nodes"));
        for (int k = 0; k < KEYS; k++) {
            try {
                leader.submit(KvCommand.put("key-" + k, new byte[16], KvCommand.Condition.NONE, 0)).get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("bench: could not write the keys to read: " + e, e);
            }
        }
        List<Kind> kinds = List.of(
                new Kind("linearizable", "leader", leader::read), new Kind("lease", "leader", leader::leaseRead),
                new Kind("stale", "leader", leader::staleRead), new Kind("linearizable", "follower", follower::read),
                new Kind("lease", "follower", follower::leaseRead), new Kind("stale", "follower", follower::staleRead));
        Writer writer = new Writer(leader, Math.max(1, clients / 8));
        writer.start();
        List<String> results = new ArrayList<>();
        try {
            for (int round = 1; round <= rounds; round++) {
                for (Kind kind : kinds) {
                    String json = run(kind, clients, durationMillis, warmupMillis);
                    err.println("bench: round " + round + " " + json);
                    results.add("{\"round\":" + round + "," + json.substring(1));
                }
            }
        } finally {
            writer.stop();
        }
        return "{\"mode\":\"reads\",\"clients\":" + clients + ",\"durationSeconds\":" + durationMillis / 1000.0
                + ",\"writesInFlight\":" + Math.max(1, clients / 8) + ",\"runs\":[" + String.join(",", results) + "]}";
    }

    private static String run(Kind kind, int clients, long durationMillis, long warmupMillis) throws InterruptedException {
        Semaphore inFlight = new Semaphore(clients);
        KvBench.Recorder recorder = new KvBench.Recorder();
        AtomicLong errors = new AtomicLong();
        long start = System.nanoTime();
        long measureFrom = start + TimeUnit.MILLISECONDS.toNanos(warmupMillis);
        long end = measureFrom + TimeUnit.MILLISECONDS.toNanos(durationMillis);
        long seq = 0;
        while (System.nanoTime() < end) {
            if (!inFlight.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                continue;
            }
            byte[] query = KvCommand.get("key-" + (seq++ % KEYS));
            long sent = System.nanoTime();
            kind.read().apply(query).whenComplete((r, e) -> {
                long done = System.nanoTime();
                if (e != null) {
                    errors.incrementAndGet();
                } else if (sent >= measureFrom && done <= end) {
                    recorder.record((done - sent) / 1_000);
                }
                inFlight.release();
            });
        }
        inFlight.tryAcquire(clients, 30, TimeUnit.SECONDS);
        long[] latencies = recorder.sorted();
        double seconds = durationMillis / 1000.0;
        return "{\"read\":\"" + kind.name() + "\",\"through\":\"" + kind.through() + "\",\"opsPerSecond\":"
                + Math.round(latencies.length / seconds) + ",\"latencyMicros\":{\"p50\":" + KvBench.percentile(latencies, 0.50)
                + ",\"p99\":" + KvBench.percentile(latencies, 0.99) + ",\"p999\":" + KvBench.percentile(latencies, 0.999)
                + "},\"errors\":" + errors.get() + "}";
    }

    /** Keeps a few writes in flight through the leader, so that commits go on while the reads run. */
    private static final class Writer {
        private final RaftServer leader;
        private final Semaphore inFlight;
        private volatile boolean running = true;
        private final Thread thread;

        Writer(RaftServer leader, int depth) {
            this.leader = leader;
            this.inFlight = new Semaphore(depth);
            this.thread = new Thread(this::loop, "bench-writer");
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join(10_000);
        }

        private void loop() {
            long seq = 0;
            byte[] value = new byte[16];
            while (running) {
                try {
                    if (!inFlight.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                        continue;
                    }
                } catch (InterruptedException e) {
                    return;
                }
                leader.submit(KvCommand.put("key-" + (seq++ % KEYS), value, KvCommand.Condition.NONE, 0))
                        .whenComplete((r, e) -> inFlight.release());
            }
        }
    }
}
