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
