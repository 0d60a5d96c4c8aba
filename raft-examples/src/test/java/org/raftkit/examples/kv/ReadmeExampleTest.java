package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.RaftServer;

/**
 * The README's embedding example, taken from README.md itself (the first {@code java} block), compiled
 * and run on three loopback nodes: the README cannot drift from the code. Also checks that the
 * README names every public exception a call can fail with.
 */
class ReadmeExampleTest {

    private static final Path README = Path.of("..", "README.md");

    @TempDir
    Path base;

    @Test
    void theReadmeCounterNodeCompilesAndRunsOnThreeNodes() throws Exception {
        Class<?> counterNode = compile(javaBlock(Files.readString(README)), "CounterNode");
        Method start = counterNode.getDeclaredMethod("start", String.class, Map.class, Path.class,
                CompletableFuture.class);
        Method add = counterNode.getDeclaredMethod("add", RaftServer.class, long.class);
        Method read = counterNode.getDeclaredMethod("read", RaftServer.class);
        counterNode.getDeclaredMethod("main", String[].class); // compiled, not run: it needs three machines

        Map<String, InetSocketAddress> peers = new LinkedHashMap<>();
        for (String id : List.of("n1", "n2", "n3")) {
            peers.put(id, new InetSocketAddress("127.0.0.1", freePort()));
        }
        List<RaftServer> servers = new ArrayList<>();
        List<CompletableFuture<String>> leaders = new ArrayList<>();
        try {
            for (String id : peers.keySet()) {
                CompletableFuture<String> leader = new CompletableFuture<>();
                leaders.add(leader);
                servers.add((RaftServer) invoke(start, id, peers, base.resolve(id), leader));
            }
            String leader = leaders.get(0).get(20, TimeUnit.SECONDS);
            assertThat(peers).containsKey(leader);
            RaftServer follower = servers.stream().filter(s -> !s.id().equals(leader)).findFirst().orElseThrow();
            assertThat(invoke(add, follower, 5L)).isEqualTo(5L);
            assertThat(invoke(read, servers.get(2))).isEqualTo(5L);
        } finally {
            servers.forEach(RaftServer::close);
        }
    }

    @Test
    void theReadmeNamesEveryExceptionACallCanFailWith() throws IOException {
        String readme = Files.readString(README);
        List<String> exceptions;
        try (Stream<Path> files = Files.list(Path.of("..", "raft-core", "src", "main", "java", "org", "raftkit"))) {
            exceptions = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith("Exception.java") && !n.equals("RaftException.java"))
                    .map(n -> n.substring(0, n.length() - ".java".length()))
                    .toList();
        }
        assertThat(exceptions).contains("ReadTimeoutException", "StateMachineException");
        for (String e : exceptions) {
            assertThat(readme).as("README.md names " + e).contains("`" + e + "`");
        }
    }

    /** The first fenced {@code java} block of {@code markdown}. */
    static String javaBlock(String markdown) {
        Matcher m = Pattern.compile("```java\\n(.*?)\\n```", Pattern.DOTALL).matcher(markdown);
        assertThat(m.find()).as("README.md has a java block").isTrue();
        return m.group(1);
    }

    /** Compiles {@code source} as {@code className}.java against this test's class path and loads it. */
    private Class<?> compile(String source, String className) throws IOException, ClassNotFoundException {
        Path src = base.resolve("src");
        Path out = base.resolve("classes");
        Files.createDirectories(src);
        Files.createDirectories(out);
        Path file = src.resolve(className + ".java");
        Files.writeString(file, source, StandardCharsets.UTF_8);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertThat(javac).as("a JDK's compiler").isNotNull();
        java.io.ByteArrayOutputStream errors = new java.io.ByteArrayOutputStream();
        int code = javac.run(null, errors, errors, "-classpath", System.getProperty("java.class.path"),
                "-d", out.toString(), "-Xlint:none", file.toString());
        assertThat(code).as("javac on README.md's example:\n" + errors.toString(StandardCharsets.UTF_8)).isZero();
        URLClassLoader loader = new URLClassLoader(new URL[] {out.toUri().toURL()}, getClass().getClassLoader());
        return loader.loadClass(className);
    }

    private static Object invoke(Method m, Object... args) throws Exception {
        m.setAccessible(true);
        try {
            return m.invoke(null, args);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
