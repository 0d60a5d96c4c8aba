package org.raftkit.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;

/** Building, sending and reading back snapshots in the snapshot store tests. */
final class TestSnapshots {

    static final org.raftkit.core.Configuration MEMBERS = org.raftkit.core.Configuration.of(List.of(
            org.raftkit.core.Configuration.Member.voter("n1", "127.0.0.1:7001"),
            org.raftkit.core.Configuration.Member.voter("n2", "127.0.0.1:7002"),
            org.raftkit.core.Configuration.Member.learner("n3", "127.0.0.1:7003")));

    private TestSnapshots() {
    }

    /** State machine bytes that depend only on {@code seed}. */
    static byte[] state(int bytes, long seed) {
        byte[] b = new byte[bytes];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    /** Writes {@code state} as the snapshot at {@code index}, {@code term} (in uneven pieces) and publishes it. */
    static SnapshotInfo write(SnapshotStore store, long index, long term, byte[] state) throws IOException {
        try (SnapshotStore.Writer w = store.begin(index, term, MEMBERS)) {
            OutputStream body = w.body();
            int at = 0;
            for (int piece = 1; at < state.length; piece = piece * 3 + 1) {
                int n = Math.min(piece, state.length - at);
                if (n == 1) {
                    body.write(state[at]);
                } else {
                    body.write(state, at, n);
                }
                at += n;
            }
            return w.publish();
        }
    }

    /** The whole file, read with {@code readChunk} in pieces of {@code chunkBytes}. */
    static byte[] file(SnapshotStore store, SnapshotInfo info, int chunkBytes) throws IOException {
        ByteBuffer all = ByteBuffer.allocate((int) info.sizeBytes());
        while (all.hasRemaining()) {
            byte[] chunk = store.readChunk(info, all.position(), chunkBytes);
            if (chunk.length == 0) {
                throw new AssertionError("empty chunk at " + all.position());
            }
            all.put(chunk);
        }
        if (store.readChunk(info, info.sizeBytes(), chunkBytes).length != 0) {
            throw new AssertionError("bytes after the end");
        }
        return all.array();
    }

    /** The state machine's bytes as {@code openState} gives them. */
    static byte[] state(SnapshotStore store, SnapshotInfo info) throws IOException {
        try (InputStream in = store.openState(info)) {
            return in.readAllBytes();
        }
    }

    /** Sends {@code file} to {@code to} in chunks of {@code chunkBytes} and publishes it there. */
    static SnapshotInfo receive(SnapshotStore to, long index, long term, byte[] file, int chunkBytes)
            throws IOException {
        try (SnapshotStore.Receiver r = to.receive(index, term)) {
            while (r.receivedBytes() < file.length) {
                int from = (int) r.receivedBytes();
                r.write(from, Arrays.copyOfRange(file, from, Math.min(file.length, from + chunkBytes)));
            }
            return r.publish();
        }
    }

    /** {@code file} with its CRC32C recomputed, as a writer that meant the change would have written it. */
    static byte[] withValidCrc(byte[] file) {
        byte[] copy = file.clone();
        CRC32C crc = new CRC32C();
        crc.update(copy, 0, copy.length - 4);
        ByteBuffer.wrap(copy).putInt(copy.length - 4, (int) crc.getValue());
        return copy;
    }
}
