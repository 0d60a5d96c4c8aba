package org.raftkit.core;

/**
 * A named countdown in ticks. The core has no clock: the driver calls {@code tick()} at a fixed
 * interval and each timeout counts them.
 */
final class Timeout {

    private int elapsedTicks;
    private int timeoutTicks;

    Timeout(int timeoutTicks) {
        this.timeoutTicks = timeoutTicks;
    }

    void tick() {
        elapsedTicks++;
    }

    boolean fired() {
        return elapsedTicks >= timeoutTicks;
    }

    int elapsedTicks() {
        return elapsedTicks;
    }

    void reset() {
        elapsedTicks = 0;
    }

    /** Restarts the countdown with a new length (a fresh random election timeout). */
    void reset(int newTimeoutTicks) {
        elapsedTicks = 0;
        timeoutTicks = newTimeoutTicks;
    }
}
