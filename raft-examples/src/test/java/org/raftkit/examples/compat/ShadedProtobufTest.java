package org.raftkit.examples.compat;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * RaftKit next to protobuf-java 3.5.1 (what SOFAJRaft and older Hadoop stacks pin) on one class
 * path: the transport jar must carry its own, relocated protobuf, so the application's old one
 * neither breaks RaftKit nor is broken by it.
 *
 * <p>The class loader is built from this test's class path with protobuf-java 3.25 taken out and
 * 3.5.1 put in, and the platform loader as parent, so nothing leaks in from the test's own loader.
 * It needs the packaged (shaded) transport jar, which Maven's reactor hands to this module from
 * the package phase on: {@code mvn verify} from the root. Under {@code mvn test} the transport is
 * its unshaded target/classes and the test is skipped, saying so.
 */
class ShadedProtobufTest {

    @Test
    void raftKitRunsAClusterNextToProtobuf351OnOneClassPath() throws Exception {
        List<String> classPath = List.of(System.getProperty("java.class.path").split(File.pathSeparator));
        Path transport = classPath.stream().filter(e -> e.contains("raft-transport-netty")).map(Path::of)
                .findFirst().orElseThrow(() -> new AssertionError("raft-transport-netty not on " + classPath));
        Assumptions.assumeTrue(Files.isRegularFile(transport), "raft-transport-netty is " + transport
                + ", not its shaded jar: run mvn verify (the jar is shaded at package)");
        assertShaded(transport);

        Path oldProtobuf = Path.of(System.getProperty("compat.protobuf.jar"));
        assertThat(oldProtobuf).exists();
        List<URL> urls = new ArrayList<>();
        urls.add(oldProtobuf.toUri().toURL());
        for (String entry : classPath) {
            if (!Path.of(entry).getFileName().toString().startsWith("protobuf-java-")) {
                urls.add(Path.of(entry).toUri().toURL());
            }
        }
        try (URLClassLoader loader = new URLClassLoader(urls.toArray(new URL[0]),
                ClassLoader.getPlatformClassLoader())) {
            Class<?> probe = loader.loadClass(CompatProbe.class.getName());
            assertThat(probe.getClassLoader()).isSameAs(loader);
            String summary = (String) probe.getMethod("run").invoke(null);
            assertThat(summary).startsWith("committed 'hello'").endsWith("protobuf-java-3.5.1.jar");
        }
    }

    /** No class of the jar may refer to com.google.protobuf, and it must hold the relocated runtime. */
    private static void assertShaded(Path jar) throws IOException {
        try (JarFile f = new JarFile(jar.toFile())) {
            assertThat(f.getEntry("org/raftkit/shaded/com/google/protobuf/GeneratedMessageV3.class")).isNotNull();
            assertThat(f.stream().map(e -> e.getName()).filter(n -> n.startsWith("com/google/"))).isEmpty();
            byte[] envelope = f.getInputStream(f.getEntry("org/raftkit/transport/netty/wire/Envelope.class"))
                    .readAllBytes();
            String constants = new String(envelope, java.nio.charset.StandardCharsets.ISO_8859_1);
            assertThat(constants).contains("org/raftkit/shaded/com/google/protobuf/")
                    .doesNotContain("Lcom/google/protobuf/");
        }
    }
}
