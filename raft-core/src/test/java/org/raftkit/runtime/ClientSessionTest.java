package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/**
 * {@link ClientSession} is the one piece of the runtime that application threads call at the same
 * time ({@code submit} from any thread), so the simulator, which runs every loop and every client
 * on one thread, cannot interleave them. Hence this test with real threads.
 */
class ClientSessionTest {

    @Test
    void aFloorNeverPassesACallStillOpen() {
        ClientSession session = new ClientSession(7);
        assertThat(session.floor(session.open())).isEqualTo(1);
        long second = session.open();
        assertThat(session.floor(second)).as("1 is still open").isEqualTo(1);
        session.close(1);
        assertThat(session.floor(second)).isEqualTo(second);
    }

    @Test
    void theFloorIsTheLowestOpenNumberHoweverManyAreOpenAndInWhateverOrderTheyClose() {
        ClientSession session = new ClientSession(7);
        java.util.TreeSet<Long> open = new java.util.TreeSet<>();
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        for (int step = 0; step < 20_000; step++) {
            if (open.size() < 2_000 && (open.isEmpty() || random.nextInt(3) > 0)) {
                open.add(session.open()); // up to 2,000 open: the ring grows past its first 256
            } else {
                Long victim = open.ceiling(open.first() + random.nextLong(open.last() - open.first() + 1));
                open.remove(victim);
                session.close(victim);
                session.close(victim); // twice: harmless
            }
            long probe = open.isEmpty() ? Long.MAX_VALUE : open.last();
            assertThat(session.floor(probe)).isEqualTo(open.isEmpty() ? probe : open.first());
        }
    }

    @Test
    void givenNumbersMayComeInAnyOrder() {
        ClientSession session = new ClientSession(9);
        assertThat(session.openGiven(5)).isTrue();
        assertThat(session.openGiven(3)).isTrue();
        assertThat(session.openGiven(5)).as("5 is open already").isFalse();
        assertThat(session.floor(5)).isEqualTo(3);
        session.close(3);
        assertThat(session.floor(5)).isEqualTo(5);
        assertThat(session.floor(8)).isEqualTo(5);
    }

    /**
     * Found by the membership benchmarks (issue 11), on a real cluster under load: a write
     * answered with an empty result although it was never applied. One thread drew its sequence
     * number, and before it counted the call open, another thread stamped a floor above it; the
     * other command was applied first, and the table then took the first for an old duplicate.
     * A floor computed while a call is open must never pass it: {@code maxFloor > s} while s is
     * open is that bug. Before the fix, four threads found it dozens of times in a million calls.
     */
    @Test
    void concurrentCallsNeverSeeAFloorAboveACallStillOpen() throws Exception {
        ClientSession session = new ClientSession(7);
        AtomicLong maxFloor = new AtomicLong();
        AtomicLong violations = new AtomicLong();
        int threads = 4;
        int callsPerThread = 250_000;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread w = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int i = 0; i < callsPerThread; i++) {
                    long s = session.open();
                    long floor = session.floor(s);
                    maxFloor.accumulateAndGet(floor, Math::max);
                    if (maxFloor.get() > s) {
                        violations.incrementAndGet(); // s is open, yet a floor above it was stamped
                    }
                    session.close(s);
                }
            }, "caller-" + t);
            workers.add(w);
            w.start();
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        assertThat(violations.get()).as("floors stamped above a call still open").isZero();
    }
}
