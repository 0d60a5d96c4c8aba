package org.raftkit.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

/** A warning repeated five times a second goes out once per interval, with the count of the rest. */
class RateLimitedLogTest {

    @Test
    void repeatsAreCountedNotSilenced() {
        List<String> lines = new ArrayList<>();
        Logger logger = (Logger) Proxy.newProxyInstance(Logger.class.getClassLoader(), new Class<?>[] {Logger.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("warn") && args.length == 1) {
                        lines.add((String) args[0]);
                    }
                    return method.getReturnType() == boolean.class ? Boolean.TRUE : null;
                });
        AtomicLong nanos = new AtomicLong();
        RateLimitedLog log = new RateLimitedLog(logger, 10_000, nanos::get);
        for (int i = 0; i < 5 * 25; i++) { // 25 s of "five times a second"
            log.warn("n1 cannot reach a quorum");
            nanos.addAndGet(200_000_000L);
        }
        assertThat(lines).containsExactly(
                "n1 cannot reach a quorum",
                "n1 cannot reach a quorum (and 49 more like it in the last 10 s)",
                "n1 cannot reach a quorum (and 49 more like it in the last 10 s)");
        log.warn("n1 cannot reach a quorum");
        assertThat(lines).hasSize(3); // held back; it will be counted in the next line
    }
}
