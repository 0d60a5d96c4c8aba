package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The core's purity rule (docs/ARCHITECTURE.md section 3): no system clock, no threads, no I/O and
 * no static mutable state in the core, and a test fails the build if the core's packages mention
 * them. This is that test. It reads the sources of
 * the pure packages ({@code org.raftkit.core} and the message records), ignores comments and
 * string literals, and names the file and line of every forbidden mention.
 */
class CorePurityTest {

    /** Relative to the module directory, surefire's working directory. */
    private static final List<Path> PURE_SOURCES = List.of(
            Path.of("src/main/java/org/raftkit/core"),
            Path.of("src/main/java/org/raftkit/message"));

    @Test
    void pureCoreMentionsNoClockThreadIoUninjectedRandomnessLockOrStaticMutableState() throws IOException {
        List<PurityScanner.Finding> findings = new ArrayList<>();
        int files = 0;
        for (Path dir : PURE_SOURCES) {
            assertThat(dir).as("source directory (run from the raft-core module)").isDirectory();
            List<Path> sources;
            try (Stream<Path> walk = Files.walk(dir)) {
                sources = walk.filter(p -> p.toString().endsWith(".java")).sorted().toList();
            }
            for (Path source : sources) {
                findings.addAll(PurityScanner.scan(source.toString(), Files.readString(source)));
                files++;
            }
        }

        assertThat(files).as("files scanned").isGreaterThanOrEqualTo(10);
        assertThat(findings).as("forbidden mentions in the pure core").isEmpty();
    }

    // ---------------------------------------------------------------------------------------------
    // The scanner's own tests
    // ---------------------------------------------------------------------------------------------

    @Test
    void scannerFindsEveryForbiddenMentionWithItsLine() {
        String bad = String.join("\n",
                "package org.raftkit.core;",                                     // 1
                "import java.io.File;",                                          // 2
                "import java.nio.file.Path;",                                    // 3
                "import java.time.Clock;",                                       // 4
                "import java.util.concurrent.Executors;",                        // 5
                "class Bad {",                                                   // 6
                "    static int counter;",                                       // 7
                "    private static long[] buffer = new long[3];",               // 8
                "    static final int OK = 1;",                                  // 9
                "    final static String ALSO_OK = \"Thread\";",                 // 10
                "    void f() throws Exception {",                               // 11
                "        Thread.sleep(1);",                                      // 12
                "        long t = System.currentTimeMillis();",                  // 13
                "        long n = System . nanoTime();",                         // 14
                "        Object i = java.time.Instant.now();",                   // 15
                "        double r = Math.random();",                             // 16
                "        Object g = new java.util.Random(3);",                   // 17
                "        int k = ThreadLocalRandom.current().nextInt();",        // 18
                "        synchronized (this) { }",                               // 19
                "    }",                                                         // 20
                "    static void method() { }",                                  // 21
                "    static final class Nested { }",                             // 22
                "    private static",                                            // 23
                "        String split = \"x\";",                                 // 24
                "}");

        List<PurityScanner.Finding> findings = PurityScanner.scan("Bad.java", bad);

        assertThat(findings).extracting(f -> f.file() + ":" + f.line() + ": " + f.rule())
                .containsExactly(
                        "Bad.java:2: java.io",
                        "Bad.java:3: java.nio",
                        "Bad.java:4: java.time.Clock",
                        "Bad.java:5: Executor",
                        "Bad.java:7: static non-final field",
                        "Bad.java:8: static non-final field",
                        "Bad.java:12: Thread",
                        "Bad.java:13: System.currentTimeMillis",
                        "Bad.java:14: System.nanoTime",
                        "Bad.java:15: Instant.now",
                        "Bad.java:16: Math.random",
                        "Bad.java:17: new Random(",
                        "Bad.java:18: ThreadLocalRandom",
                        "Bad.java:19: synchronized",
                        "Bad.java:23: static non-final field");
        assertThat(findings.get(0)).hasToString("Bad.java:2: forbidden java.io: import java.io.File;");
    }

    @Test
    void scannerIgnoresCommentsStringsAndLookalikeNames() {
        String clean = String.join("\n",
                "package org.raftkit.core;",
                "import static java.util.Objects.requireNonNull;",
                "/** Unlike a Thread, this never calls System.currentTimeMillis() or java.io. */",
                "final class Clean {",
                "    // synchronized, Math.random(), new Random(1), Executor, static int x;",
                "    /* Instant.now() and",
                "       java.time.Clock and ThreadLocalRandom */",
                "    private static final String TEXT = \"Thread.sleep(1); synchronized \\\" java.nio\";",
                "    private static final char QUOTE = '\"';",
                "    private static final String BLOCK = \"\"\"",
                "        System.nanoTime() \"quoted\" synchronized",
                "        \"\"\";",
                "    private final int threadCount = 1;",
                "    private final int randomTicks = 2;",
                "    static int twice(int v) { return 2 * v; }",
                "    static final class Tally { int granted; }",
                "    enum Kind { A, B }",
                "    record Pair(int a, int b) { static Pair of() { return new Pair(1, 2); } }",
                "    int sum() { return threadCount + randomTicks + QUOTE + TEXT.length() + BLOCK.length(); }",
                "}");

        assertThat(PurityScanner.scan("Clean.java", clean)).isEmpty();
    }

    @Test
    void strippingKeepsLinesAndBlanksOnlyCommentsAndLiterals() {
        String source = "int a = 1; // Thread\nString s = \"Thread\"; /* x\ny */ int b;";

        String stripped = PurityScanner.stripCommentsAndLiterals(source);

        assertThat(stripped).hasSameSizeAs(source);
        assertThat(stripped.lines()).hasSize(3);
        assertThat(stripped).doesNotContain("Thread").contains("int a = 1;").contains("int b;").contains("String s = \"");
    }

    /**
     * Finds forbidden mentions in Java source. Comments and the contents of string, text-block and
     * char literals are blanked first (keeping line breaks, so line numbers stay right).
     */
    static final class PurityScanner {

        private record Rule(String name, Pattern pattern) {
        }

        /** One forbidden mention: where it is, which rule, and the source line as written. */
        record Finding(String file, int line, String rule, String sourceLine) {
            @Override
            public String toString() {
                return file + ":" + line + ": forbidden " + rule + ": " + sourceLine;
            }
        }

        private static final List<Rule> RULES = List.of(
                new Rule("java.io", Pattern.compile("\\bjava\\s*\\.\\s*io\\b")),
                new Rule("java.nio", Pattern.compile("\\bjava\\s*\\.\\s*nio\\b")),
                new Rule("java.time.Clock", Pattern.compile("\\bjava\\s*\\.\\s*time\\s*\\.\\s*Clock\\b")),
                new Rule("Executor", Pattern.compile("\\b\\w*Executor\\w*\\b")),
                new Rule("Thread", Pattern.compile("\\bThread\\b")),
                new Rule("System.currentTimeMillis", Pattern.compile("\\bSystem\\s*\\.\\s*currentTimeMillis\\b")),
                new Rule("System.nanoTime", Pattern.compile("\\bSystem\\s*\\.\\s*nanoTime\\b")),
                new Rule("Instant.now", Pattern.compile("\\bInstant\\s*\\.\\s*now\\b")),
                new Rule("Math.random", Pattern.compile("\\bMath\\s*\\.\\s*random\\b")),
                // Any random generator built in the core instead of injected: Random, SplittableRandom, SecureRandom.
                new Rule("new Random(", Pattern.compile("\\bnew\\s+(?:[\\w$]+\\s*\\.\\s*)*\\w*Random\\s*\\(")),
                new Rule("ThreadLocalRandom", Pattern.compile("\\bThreadLocalRandom\\b")),
                new Rule("synchronized", Pattern.compile("\\bsynchronized\\b")));

        private static final Pattern STATIC = Pattern.compile("\\bstatic\\b");
        private static final Pattern FINAL = Pattern.compile("\\bfinal\\b");
        private static final Pattern IMPORT = Pattern.compile("^\\s*import\\b");

        private PurityScanner() {
        }

        /** Every forbidden mention, in line order, at most one per rule and line. */
        static List<Finding> scan(String fileName, String source) {
            String code = stripCommentsAndLiterals(source);
            String[] lines = source.split("\n", -1);
            List<int[]> hits = new ArrayList<>(); // {offset, rule index}; rule index RULES.size() = static field
            for (int r = 0; r < RULES.size(); r++) {
                Matcher m = RULES.get(r).pattern().matcher(code);
                while (m.find()) {
                    hits.add(new int[] {m.start(), r});
                }
            }
            for (int offset : staticNonFinalFields(code)) {
                hits.add(new int[] {offset, RULES.size()});
            }
            hits.sort((a, b) -> a[0] != b[0] ? Integer.compare(a[0], b[0]) : Integer.compare(a[1], b[1]));
            List<Finding> findings = new ArrayList<>();
            int lastLine = -1;
            int lastRule = -1;
            for (int[] hit : hits) {
                int line = lineOf(code, hit[0]);
                if (line == lastLine && hit[1] == lastRule) {
                    continue; // one finding per rule and line
                }
                lastLine = line;
                lastRule = hit[1];
                String rule = hit[1] == RULES.size() ? "static non-final field" : RULES.get(hit[1]).name();
                findings.add(new Finding(fileName, line, rule, lines[line - 1].trim()));
            }
            return findings;
        }

        /**
         * Offsets of the {@code static} keyword of every static field declared without {@code final}.
         * A declaration runs from the previous {@code ; { }} to its first {@code ; = ( {}: it is a
         * field if that is {@code ;} or {@code =} (a method stops at {@code (}, a nested type or
         * static initializer at <code>{</code>).
         */
        private static List<Integer> staticNonFinalFields(String code) {
            List<Integer> out = new ArrayList<>();
            Matcher m = STATIC.matcher(code);
            while (m.find()) {
                int start = m.start();
                while (start > 0 && ";{}".indexOf(code.charAt(start - 1)) < 0) {
                    start--;
                }
                int end = m.end();
                while (end < code.length() && ";=({".indexOf(code.charAt(end)) < 0) {
                    end++;
                }
                if (end == code.length()) {
                    continue;
                }
                char terminator = code.charAt(end);
                String declaration = code.substring(start, end);
                boolean field = terminator == ';' || terminator == '=';
                if (field && !IMPORT.matcher(declaration).find() && !FINAL.matcher(declaration).find()) {
                    out.add(m.start());
                }
            }
            return out;
        }

        private static int lineOf(String text, int offset) {
            int line = 1;
            for (int i = 0; i < offset; i++) {
                if (text.charAt(i) == '\n') {
                    line++;
                }
            }
            return line;
        }

        /**
         * The source with comments and literal contents replaced by spaces. Same length, same line
         * breaks; the quotes of literals are kept so the code around them still reads as code.
         */
        static String stripCommentsAndLiterals(String s) {
            StringBuilder out = new StringBuilder(s);
            int i = 0;
            int n = s.length();
            while (i < n) {
                char c = s.charAt(i);
                if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
                    int end = s.indexOf('\n', i);
                    end = end < 0 ? n : end;
                    blank(out, i, end);
                    i = end;
                } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
                    int end = s.indexOf("*/", i + 2);
                    end = end < 0 ? n : end + 2;
                    blank(out, i, end);
                    i = end;
                } else if (s.startsWith("\"\"\"", i)) {
                    int end = s.indexOf("\"\"\"", i + 3);
                    while (end > 0 && isEscaped(s, end)) {
                        end = s.indexOf("\"\"\"", end + 1);
                    }
                    end = end < 0 ? n : end;
                    blank(out, i + 3, end);
                    i = Math.min(n, end + 3);
                } else if (c == '"' || c == '\'') {
                    int j = i + 1;
                    while (j < n && s.charAt(j) != c && s.charAt(j) != '\n') {
                        j += s.charAt(j) == '\\' ? 2 : 1;
                    }
                    j = Math.min(j, n);
                    blank(out, i + 1, j);
                    i = j + 1;
                } else {
                    i++;
                }
            }
            return out.toString();
        }

        private static boolean isEscaped(String s, int index) {
            int backslashes = 0;
            for (int k = index - 1; k >= 0 && s.charAt(k) == '\\'; k--) {
                backslashes++;
            }
            return backslashes % 2 == 1;
        }

        private static void blank(StringBuilder out, int from, int to) {
            for (int k = from; k < to; k++) {
                if (out.charAt(k) != '\n') {
                    out.setCharAt(k, ' ');
                }
            }
        }
    }
}
