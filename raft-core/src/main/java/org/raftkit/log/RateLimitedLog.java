package org.raftkit.log;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import org.slf4j.Logger;

/**
 * One log line that may repeat many times a second (a refused connection, a peer that cannot be
 * reached), logged at most once per interval; the lines held back in between are counted and the
 * count goes out with the next line, so nothing is silenced:
 * {@code refused HTTP connections beyond the cap of 1024 (and 5311 more like it in the last 10 s)}.
 *
 * <p>One instance per call site. Any thread; a call never blocks beyond the logger's own work.
 * The clock is an argument so tests and the simulator can drive it.
 */
public final class RateLimitedLog {

    private final Logger log;
    private final long intervalNanos;
    private final LongSupplier clock;
    private long lastLoggedNanos;
    private boolean loggedOnce;
    private long heldBack;

    /** Logs through {@code log} at most once per {@code intervalMillis} of {@code System.nanoTime}. */
    public RateLimitedLog(Logger log, long intervalMillis) {
        this(log, intervalMillis, System::nanoTime);
    }

    /** As above, with {@code clock} (nanoseconds) as the time. */
    public RateLimitedLog(Logger log, long intervalMillis, LongSupplier clock) {
        this.log = Objects.requireNonNull(log, "log");
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Logs {@code message} at WARN now, or counts it until the interval has passed. */
    public void warn(String message) {
        String line = admit(message);
        if (line != null) {
            log.warn(line);
        }
    }

    /** Logs {@code message} at INFO now, or counts it until the interval has passed. */
    public void info(String message) {
        String line = admit(message);
        if (line != null) {
            log.info(line);
        }
    }

    /** The line to log now, with the count of those held back, or null to hold this one back. */
    private synchronized String admit(String message) {
        long now = clock.getAsLong();
        if (loggedOnce && now - lastLoggedNanos < intervalNanos) {
            heldBack++;
            return null;
        }
        String line = heldBack == 0 ? message : message + " (and " + heldBack + " more like it in the last "
                + TimeUnit.NANOSECONDS.toSeconds(now - lastLoggedNanos) + " s)";
        loggedOnce = true;
        lastLoggedNanos = now;
        heldBack = 0;
        return line;
    }
}
