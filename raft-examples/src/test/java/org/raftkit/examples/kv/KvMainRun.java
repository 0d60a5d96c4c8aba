package org.raftkit.examples.kv;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** One {@code raft-kv} command line run in this JVM, as the tests see it: its exit code and what it printed. */
record KvMainRun(int code, String out, String err) {

    /** Runs {@link KvMain#run} with {@code args}, capturing stdout and stderr. */
    static KvMainRun of(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = KvMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new KvMainRun(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
