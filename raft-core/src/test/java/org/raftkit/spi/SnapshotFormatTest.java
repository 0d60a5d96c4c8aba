package org.raftkit.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;
import org.raftkit.spi.SnapshotFormat.InvalidSnapshotException;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;

/**
 * The snapshot file layout byte by byte (the table in docs/STORAGE.md), and header damage that a
 * valid CRC cannot catch (a writer with a bug): each refused with the offset and the reason.
 */
class SnapshotFormatTest {

    @Test
    void layoutIsTheDocumentedOne() throws Exception {
        byte[] file = encode(7, 3, List.of("n1", "é"), new byte[] {1, 2, 3});
        ByteBuffer b = ByteBuffer.wrap(file);
        assertThat(new String(file, 0, 6, StandardCharsets.US_ASCII)).isEqualTo("RKSNAP");
        assertThat(b.getShort(6)).isEqualTo((short) 1);
        assertThat(b.getLong(8)).isEqualTo(7);
        assertThat(b.getLong(16)).isEqualTo(3);
        assertThat(b.getInt(24)).isEqualTo(2);
        assertThat(b.getShort(28)).isEqualTo((short) 2);
        assertThat(new String(file, 30, 2, StandardCharsets.UTF_8)).isEqualTo("n1");
        assertThat(b.getShort(32)).isEqualTo((short) 2); // "é" is two UTF-8 bytes
        assertThat(new String(file, 34, 2, StandardCharsets.UTF_8)).isEqualTo("é");
        assertThat(SnapshotFormat.stateOffset(List.of("n1", "é"))).isEqualTo(36);
        assertThat(file).hasSize(36 + 3 + 12);
        assertThat(file[36]).isEqualTo((byte) 1);
        assertThat(b.getLong(39)).isEqualTo(file.length);
        CRC32C crc = new CRC32C();
        crc.update(file, 0, file.length - 4);
        assertThat(b.getInt(47)).isEqualTo((int) crc.getValue());

        SnapshotInfo info = SnapshotFormat.verify("f", file.length, SnapshotFormat.readAt(file));
        assertThat(info).isEqualTo(new SnapshotInfo(7, 3, List.of("n1", "é"), file.length, (int) crc.getValue()));
        assertThat(SnapshotFormat.stateBytes(info)).isEqualTo(3);
    }

    @Test
    void aMemberCountThatCannotFitIsRefusedEvenWithAValidCrc() {
        byte[] file = encode(7, 3, List.of("n1"), new byte[10]);
        ByteBuffer.wrap(file).putInt(24, 1_000_000);
        assertThatThrownBy(() -> verify(withValidCrc(file))).isInstanceOf(InvalidSnapshotException.class)
                .hasMessageContaining("offset 24").hasMessageContaining("member count 1000000 does not fit");
    }

    @Test
    void aMemberRunningPastTheStateIsRefused() {
        byte[] file = encode(7, 3, List.of("n1"), new byte[0]);
        ByteBuffer.wrap(file).putShort(28, (short) 500);
        assertThatThrownBy(() -> verify(withValidCrc(file))).hasMessageContaining("member 0 of 500 bytes");
    }

    @Test
    void aMemberThatIsNotUtf8IsRefused() {
        byte[] file = encode(7, 3, List.of("n1"), new byte[0]);
        file[30] = (byte) 0xff;
        assertThatThrownBy(() -> verify(withValidCrc(file))).hasMessageContaining("member 0 is not valid UTF-8");
    }

    @Test
    void indexAndTermBelowOneAreRefusedOnBothSides() {
        assertThatThrownBy(() -> new SnapshotFormat.Encoder(0, 1, List.of()))
                .isInstanceOf(IllegalArgumentException.class);
        byte[] file = encode(7, 3, List.of(), new byte[0]);
        ByteBuffer.wrap(file).putLong(16, 0);
        assertThatThrownBy(() -> verify(withValidCrc(file))).hasMessageContaining("index 7 and term 0");
    }

    @Test
    void versionZeroDoesNotExist() {
        byte[] file = encode(7, 3, List.of(), new byte[0]);
        ByteBuffer.wrap(file).putShort(6, (short) 0);
        assertThatThrownBy(() -> verify(withValidCrc(file))).hasMessageContaining("format version 0 does not exist");
    }

    @Test
    void theTrailerSizeMustMatchTheFile() {
        byte[] file = encode(7, 3, List.of(), new byte[100]);
        byte[] longer = java.util.Arrays.copyOf(file, file.length + 5);
        assertThatThrownBy(() -> verify(longer)).hasMessageContaining("truncated, extended or damaged");
    }

    private static SnapshotInfo verify(byte[] file) throws Exception {
        return SnapshotFormat.verify("test file", file.length, SnapshotFormat.readAt(file));
    }

    private static byte[] encode(long index, long term, List<String> members, byte[] state) {
        SnapshotFormat.Encoder e = new SnapshotFormat.Encoder(index, term, members);
        byte[] header = e.header();
        e.update(state, 0, state.length);
        byte[] trailer = e.trailer();
        return ByteBuffer.allocate(header.length + state.length + trailer.length).put(header).put(state).put(trailer)
                .array();
    }

    private static byte[] withValidCrc(byte[] file) {
        CRC32C crc = new CRC32C();
        crc.update(file, 0, file.length - 4);
        ByteBuffer.wrap(file).putInt(file.length - 4, (int) crc.getValue());
        return file;
    }
}
