package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** Reconnect delays: doubling from the minimum, capped, jittered into the upper half, reset on success. */
class BackoffTest {

    @Test
    void delaysDoubleUpToTheCapWithJitterInTheUpperHalf() {
        Backoff backoff = new Backoff(50, 2_000, new SplittableRandom(1));
        long[] caps = {50, 100, 200, 400, 800, 1_600, 2_000, 2_000, 2_000};
        for (int round = 0; round < 200; round++) {
            for (long cap : caps) {
                long delay = backoff.nextDelayMillis();
                assertThat(delay).as("cap " + cap).isBetween(cap / 2, cap);
            }
            backoff.reset();
        }
    }

    @Test
    void manyFailuresNeverOverflowTheCap() {
        Backoff backoff = new Backoff(1, Long.MAX_VALUE / 4, new SplittableRandom(2));
        for (int i = 0; i < 500; i++) {
            assertThat(backoff.nextDelayMillis()).isBetween(0L, Long.MAX_VALUE / 4);
        }
    }
}
