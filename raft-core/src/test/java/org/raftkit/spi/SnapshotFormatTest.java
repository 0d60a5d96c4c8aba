package org.raftkit.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;
import org.raftkit.core.Configuration;
import org.raftkit.core.Configuration.Member;
import org.raftkit.spi.SnapshotFormat.InvalidSnapshotException;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;

/**
 * The snapshot file layout byte by byte (the table in docs/STORAGE.md), header damage that a valid
 * CRC cannot catch (a writer with a bug), each refused with the offset and the reason; and files of
 * version 1, whose voter list is read as a configuration of voters.
 */
class SnapshotFormatTest {

    private static final Configuration CONFIG = Configuration.of(List.of(Member.voter("n1", "h1:7001"),
            Member.voter("é", "h2:7002"), Member.learner("n3", "h3:7003")));

    @Test
    void layoutIsTheDocumentedOne() throws Exception {
        byte[] file = encode(7, 3, CONFIG, new byte[] {1, 2, 3});
        byte[] config = CONFIG.encode();
        ByteBuffer b = ByteBuffer.wrap(file);
        assertThat(new String(file, 0, 6, StandardCharsets.US_ASCII)).isEqualTo("RKSNAP");
        assertThat(b.getShort(6)).isEqualTo((short) 2);
        assertThat(b.getLong(8)).isEqualTo(7);
        assertThat(b.getLong(16)).isEqualTo(3);
        assertThat(b.getInt(24)).isEqualTo(config.length);
        assertThat(java.util.Arrays.copyOfRange(file, 28, 28 + config.length)).isEqualTo(config);
        int h = 28 + config.length;
        assertThat(SnapshotFormat.stateOffset(CONFIG)).isEqualTo(h);
        assertThat(file).hasSize(h + 3 + 12);
        assertThat(file[h]).isEqualTo((byte) 1);
        assertThat(b.getLong(h + 3)).isEqualTo(file.length);
        CRC32C crc = new CRC32C();
        crc.update(file, 0, file.length - 4);
        assertThat(b.getInt(h + 11)).isEqualTo((int) crc.getValue());

        SnapshotInfo info = SnapshotFormat.verify("f", file.length, SnapshotFormat.readAt(file));
        assertThat(info).isEqualTo(new SnapshotInfo(7, 3, CONFIG, h, file.length, (int) crc.getValue()));
        assertThat(SnapshotFormat.stateBytes(info)).isEqualTo(3);
    }

    @Test
    void aJointConfigurationTravelsWhole() throws Exception {
        Configuration joint = Configuration.ofVoters(List.of("a", "b", "c"))
                .jointWith(Configuration.ofVoters(List.of("a", "b", "d")));
        byte[] file = encode(9, 2, joint, new byte[5]);
        assertThat(verify(file).configuration()).isEqualTo(joint);
    }

    @Test
    void aVersion1FileIsReadAsAConfigurationOfItsVoters() throws Exception {
        byte[] file = version1(7, 3, List.of("n1", "é"), new byte[] {1, 2, 3});
        SnapshotInfo info = verify(file);
        assertThat(info.configuration()).isEqualTo(Configuration.ofVoters(List.of("n1", "é")));
        assertThat(info.stateOffset()).isEqualTo(36);
        assertThat(SnapshotFormat.stateBytes(info)).isEqualTo(3);
    }

    @Test
    void aVersion1MemberCountThatCannotFitIsRefusedEvenWithAValidCrc() {
        byte[] file = version1(7, 3, List.of("n1"), new byte[10]);
        ByteBuffer.wrap(file).putInt(24, 1_000_000);
        assertThatThrownBy(() -> verify(withValidCrc(file))).isInstanceOf(InvalidSnapshotException.class)
                .hasMessageContaining("offset 24").hasMessageContaining("member count 1000000 does not fit");
    }

    @Test
    void aVersion1MemberThatIsNotUtf8IsRefused() {
        byte[] file = version1(7, 3, List.of("n1"), new byte[0]);
        file[30] = (byte) 0xff;
        assertThatThrownBy(() -> verify(withValidCrc(file))).hasMessageContaining("member 0 is not valid UTF-8");
    }

    @Test
    void aConfigurationLengthThatCannotFitIsRefusedEvenWithAValidCrc() {
        byte[] file = encode(7, 3, CONFIG, new byte[10]);
        ByteBuffer.wrap(file).putInt(24, 1_000_000);
        assertThatThrownBy(() -> verify(withValidCrc(file))).isInstanceOf(InvalidSnapshotException.class)
                .hasMessageContaining("offset 24").hasMessageContaining("configuration length 1000000 does not fit");
    }

    @Test
    void aConfigurationThatDoesNotDecodeIsRefused() {
        byte[] file = encode(7, 3, CONFIG, new byte[0]);
        file[28] = 99; // the configuration's encoding version
        assertThatThrownBy(() -> verify(withValidCrc(file))).hasMessageContaining("offset 28")
                .hasMessageContaining("the configuration does not decode");
    }

    @Test
    void indexAndTermBelowOneAreRefusedOnBothSides() {
        assertThatThrownBy(() -> new SnapshotFormat.Encoder(0, 1, CONFIG))
                .isInstanceOf(IllegalArgumentException.class);
        byte[] file = encode(7, 3, CONFIG, new byte[0]);
        ByteBuffer.wrap(file).putLong(16, 0);
        assertThatThrownBy(() -> verify(withValidCrc(file))).hasMessageContaining("index 7 and term 0");
    }

    @Test
    void versionZeroDoesNotExistAndThreeIsNewer() {
        byte[] file = encode(7, 3, CONFIG, new byte[0]);
        ByteBuffer.wrap(file).putShort(6, (short) 0);
        assertThatThrownBy(() -> verify(withValidCrc(file))).hasMessageContaining("format version 0 does not exist");
        ByteBuffer.wrap(file).putShort(6, (short) 3);
        assertThatThrownBy(() -> verify(withValidCrc(file))).hasMessageContaining("written by a newer RaftKit");
    }

    @Test
    void theTrailerSizeMustMatchTheFile() {
        byte[] file = encode(7, 3, CONFIG, new byte[100]);
        byte[] longer = java.util.Arrays.copyOf(file, file.length + 5);
        assertThatThrownBy(() -> verify(longer)).hasMessageContaining("truncated, extended or damaged");
    }

    private static SnapshotInfo verify(byte[] file) throws Exception {
        return SnapshotFormat.verify("test file", file.length, SnapshotFormat.readAt(file));
    }

    private static byte[] encode(long index, long term, Configuration c, byte[] state) {
        SnapshotFormat.Encoder e = new SnapshotFormat.Encoder(index, term, c);
        byte[] header = e.header();
        e.update(state, 0, state.length);
        byte[] trailer = e.trailer();
        return ByteBuffer.allocate(header.length + state.length + trailer.length).put(header).put(state).put(trailer)
                .array();
    }

    /** A file as version 1 wrote it: a member count and the voter ids, as docs/STORAGE.md describes. */
    private static byte[] version1(long index, long term, List<String> members, byte[] state) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer fixed = ByteBuffer.allocate(28).put("RKSNAP".getBytes(StandardCharsets.US_ASCII))
                .putShort((short) 1).putLong(index).putLong(term).putInt(members.size());
        out.writeBytes(fixed.array());
        for (String m : members) {
            byte[] u = m.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(ByteBuffer.allocate(2).putShort((short) u.length).array());
            out.writeBytes(u);
        }
        out.writeBytes(state);
        int size = out.size() + 12;
        out.writeBytes(ByteBuffer.allocate(8).putLong(size).array());
        out.writeBytes(new byte[4]);
        return withValidCrc(out.toByteArray());
    }

    private static byte[] withValidCrc(byte[] file) {
        CRC32C crc = new CRC32C();
        crc.update(file, 0, file.length - 4);
        ByteBuffer.wrap(file).putInt(file.length - 4, (int) crc.getValue());
        return file;
    }
}
