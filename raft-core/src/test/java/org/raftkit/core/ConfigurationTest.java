package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.raftkit.core.Configuration.MalformedConfigurationException;
import org.raftkit.core.Configuration.Member;

/** The configuration record (thesis §4.1, §4.3) and its binary encoding. */
class ConfigurationTest {

    private static final Configuration OLD = Configuration.of(List.of(Member.voter("n1", "10.0.0.1:7001"),
            Member.voter("n2", "10.0.0.2:7001"), Member.voter("n3", "10.0.0.3:7001"),
            Member.learner("n4", "10.0.0.4:7001")));
    private static final Configuration NEW = Configuration.of(List.of(Member.voter("n1", "10.0.0.1:7001"),
            Member.voter("n2", "10.0.0.2:7001"), Member.voter("n4", "10.0.0.4:7001"),
            Member.learner("é-n5", "[::1]:7001")));

    @Test
    void simpleAndJointConfigurationsSurviveTheirEncoding() {
        Configuration joint = OLD.jointWith(NEW);
        for (Configuration c : List.of(OLD, NEW, joint, Configuration.ofVoters(List.of("a")))) {
            assertThat(Configuration.decode(c.encode())).isEqualTo(c);
        }
        assertThat(Configuration.decode(Configuration.EMPTY.encode())).isEqualTo(Configuration.EMPTY);
    }

    @Test
    void aJointConfigurationNamesBothVoterSetsAndEveryMemberOnce() {
        Configuration joint = OLD.jointWith(NEW);
        assertThat(joint.isJoint()).isTrue();
        assertThat(joint.voters()).containsExactly("n1", "n2", "n4");
        assertThat(joint.outgoingVoters()).containsExactly("n1", "n2", "n3");
        assertThat(joint.allVoters()).containsExactlyInAnyOrder("n1", "n2", "n3", "n4");
        assertThat(joint.allMembers()).extracting(Member::id).containsExactly("n1", "n2", "n4", "é-n5", "n3");
        assertThat(joint.isVoter("n3")).as("a C_old voter still votes while joint").isTrue();
        assertThat(joint.isVoter("é-n5")).isFalse();
        assertThat(joint.target()).isEqualTo(NEW);
        assertThat(NEW.isVoter("n3")).isFalse();
        assertThat(NEW.contains("n3")).isFalse();
    }

    @Test
    void jointConfigurationsDoNotNest() {
        assertThatThrownBy(() -> OLD.jointWith(NEW).jointWith(OLD)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void anIdTwiceIsRefused() {
        assertThatThrownBy(() -> Configuration.of(List.of(Member.voter("n1", ""), Member.learner("n1", ""))))
                .hasMessageContaining("n1 appears twice");
    }

    @Test
    void malformedEncodingsAreRefusedWithTheOffset() {
        byte[] good = OLD.jointWith(NEW).encode();
        assertMalformed(new byte[0], 0, "encoding version runs past the end");
        assertMalformed(new byte[] {2, 0, 0, 0, 0}, 0, "encoding version 2 is not 1 (written by a newer RaftKit)");
        assertMalformed(Arrays.copyOf(good, good.length - 1), -1, "runs past the end");
        assertMalformed(Arrays.copyOf(good, good.length + 1), good.length, "1 bytes after the configuration");
        // One member "a" whose kind byte is 7.
        assertMalformed(new byte[] {1, 0, 1, 0, 1, 'a', 0, 0, 7, 0, 0}, 8, "unknown kind 7");
        // One member with an empty id.
        assertMalformed(new byte[] {1, 0, 1, 0, 0, 0, 0, 0, 0, 0}, 3, "empty id");
        // Two members named "a".
        assertMalformed(new byte[] {1, 0, 2, 0, 1, 'a', 0, 0, 0, 0, 1, 'a', 0, 0, 0, 0, 0}, 9, "a appears twice");
        // An id that is not UTF-8 (a lone continuation byte), and an overlong encoding of '/'.
        assertMalformed(new byte[] {1, 0, 1, 0, 1, (byte) 0x80, 0, 0, 0, 0, 0}, 5, "not valid UTF-8");
        assertMalformed(new byte[] {1, 0, 1, 0, 2, (byte) 0xc0, (byte) 0xaf, 0, 0, 0, 0, 0}, 5, "not valid UTF-8");
        // A joint configuration whose outgoing part has only a learner.
        assertMalformed(new byte[] {1, 0, 1, 0, 1, 'a', 0, 0, 0, 0, 1, 0, 1, 'b', 0, 0, 1}, 9, "no voter");
    }

    @Test
    void randomBytesNeverDecodeToSomethingThatDoesNotEncodeBack() {
        SplittableRandom random = new SplittableRandom(11);
        byte[] good = OLD.jointWith(NEW).encode();
        for (int i = 0; i < 20_000; i++) {
            byte[] b = good.clone();
            for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                b[random.nextInt(b.length)] = (byte) random.nextInt(256);
            }
            Configuration c;
            try {
                c = Configuration.decode(b);
            } catch (MalformedConfigurationException e) {
                continue;
            }
            assertThat(c.encode()).as("a decoded configuration encodes to the same bytes").isEqualTo(b);
        }
    }

    private static void assertMalformed(byte[] bytes, int offset, String message) {
        assertThatThrownBy(() -> Configuration.decode(bytes))
                .isInstanceOf(MalformedConfigurationException.class)
                .hasMessageContaining(message)
                .satisfies(e -> {
                    if (offset >= 0) {
                        assertThat(((MalformedConfigurationException) e).offset()).isEqualTo(offset);
                    }
                });
    }
}
