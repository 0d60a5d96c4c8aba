package org.raftkit.examples.kv;

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
 * What a newcomer reads must stand on its own: README.md and docs/*.md cite no design document that
 * is not in the repository, every relative link points at a file that exists, and the architecture
 * page puts the public classes in their real packages.
 */
class DocsAreSelfContainedTest {

    private static final Path ROOT = Path.of("..");
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)#]+)(#[^)]*)?\\)");

    @Test
    void noSourceCitesADesignDocumentThatIsNotInTheRepository() throws IOException {
        Pattern design = Pattern.compile("DESIGN" + "\\s*§");
        for (String module : List.of("raft-core", "raft-storage", "raft-transport-netty", "raft-examples")) {
            try (var files = Files.walk(ROOT.resolve(module).resolve("src"))) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")
                        && !p.endsWith("DocsAreSelfContainedTest.java")).toList()) {
                    assertThat(design.matcher(Files.readString(f)).find()).as(f + " cites DESIGN §n").isFalse();
                }
            }
        }
    }

    @Test
    void noDocumentCitesADesignDocumentThatIsNotInTheRepository() throws IOException {
        for (Path doc : docs()) {
            String text = Files.readString(doc);
            assertThat(text).as(doc + " cites DESIGN §n").doesNotContainPattern("DESIGN\\s*§");
            assertThat(text).as(doc + " describes code as still being written").doesNotContain("(being written");
        }
    }

    @Test
    void everyRelativeLinkPointsAtAFileThatExists() throws IOException {
        for (Path doc : docs()) {
            Matcher m = LINK.matcher(Files.readString(doc));
            while (m.find()) {
                String target = m.group(1);
                if (target.contains("://")) {
                    continue;
                }
                assertThat(doc.getParent().resolve(target)).as(doc + " links to " + target).exists();
            }
        }
    }

    @Test
    void theArchitecturePagePutsRaftServerInOrgRaftkit() throws IOException {
        String architecture = Files.readString(ROOT.resolve("docs/ARCHITECTURE.md"));
        assertThat(architecture).doesNotContain("`RaftServer` (being written)");
        assertThat(Path.of("..", "raft-core", "src", "main", "java", "org", "raftkit", "RaftServer.java")).exists();
        assertThat(architecture).contains("`RaftServer` (which is in `org.raftkit`)");
    }

    @Test
    void theReadmeSaysALoggingBindingIsNeeded() throws IOException {
        assertThat(Files.readString(ROOT.resolve("README.md"))).contains("slf4j-simple").contains("ships no logging backend");
    }

    private static List<Path> docs() throws IOException {
        List<Path> docs = new ArrayList<>(List.of(ROOT.resolve("README.md")));
        try (Stream<Path> files = Files.list(ROOT.resolve("docs"))) {
            files.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
        }
        return docs;
    }
}
