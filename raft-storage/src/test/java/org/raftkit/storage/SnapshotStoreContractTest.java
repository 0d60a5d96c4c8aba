package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.raftkit.storage.TestSnapshots.MEMBERS;
import static org.raftkit.storage.TestSnapshots.file;
import static org.raftkit.storage.TestSnapshots.receive;
import static org.raftkit.storage.TestSnapshots.state;
import static org.raftkit.storage.TestSnapshots.withValidCrc;
import static org.raftkit.storage.TestSnapshots.write;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.raftkit.spi.SnapshotFormat;
import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.SnapshotStore.SnapshotInfo;

/**
 * What every {@link SnapshotStore} must do, run against each implementation: write, publish, list
 * and read back; keep the newest few; receive a snapshot in chunks from the other kind of store
 * and refuse one that is wrong; skip a damaged snapshot; read one snapshot while writing the next.
 */
abstract class SnapshotStoreContractTest {

    private final List<SnapshotStore> open = new ArrayList<>();

    /** A new, empty store keeping {@code keep} snapshots. */
    abstract SnapshotStore create(int keep) throws Exception;

    /** The store as a restarted node finds it (the old instance is closed). */
    abstract SnapshotStore reopen(SnapshotStore store) throws Exception;

    /** A new, empty store of the other implementation, to send to and receive from. */
    abstract SnapshotStore createOther() throws Exception;

    /** Flips the byte at {@code offset} of a published snapshot, as a failing disk would. */
    abstract void damage(SnapshotStore store, SnapshotInfo snapshot, long offset) throws Exception;

    /** Closed after the test. */
    SnapshotStore track(SnapshotStore store) {
        open.add(store);
        return store;
    }

    @AfterEach
    void closeStores() {
        open.forEach(SnapshotStore::close);
    }

    @Test
    void publishedSnapshotListsAndReadsBackWhole() throws Exception {
        SnapshotStore store = track(create(2));
        byte[] state = state(300_000, 1);
        SnapshotInfo info = write(store, 5, 2, state);

        assertThat(info.index()).isEqualTo(5);
        assertThat(info.term()).isEqualTo(2);
        assertThat(info.configuration()).isEqualTo(MEMBERS);
        assertThat(info.sizeBytes()).isEqualTo(SnapshotFormat.stateOffset(MEMBERS) + state.length
                + SnapshotFormat.TRAILER_BYTES);
        assertThat(store.list()).containsExactly(info);
        assertThat(state(store, info)).isEqualTo(state);
        byte[] whole = file(store, info, 7_000);
        assertThat(SnapshotFormat.verify("read back", whole.length, SnapshotFormat.readAt(whole))).isEqualTo(info);
        assertThat(file(store, info, 1 << 20)).isEqualTo(whole);
    }

    @Test
    void emptyStateWithNoMembersRoundTrips() throws Exception {
        SnapshotStore store = track(create(2));
        SnapshotInfo info;
        try (SnapshotStore.Writer w = store.begin(1, 1, org.raftkit.core.Configuration.EMPTY)) {
            info = w.publish();
        }
        assertThat(info.sizeBytes()).isEqualTo(SnapshotFormat.stateOffset(org.raftkit.core.Configuration.EMPTY)
                + SnapshotFormat.TRAILER_BYTES);
        assertThat(store.list()).containsExactly(info);
        assertThat(state(store, info)).isEmpty();
    }

    @Test
    void publishedSnapshotsSurviveAReopen() throws Exception {
        SnapshotStore store = create(2);
        SnapshotInfo older = write(store, 10, 1, state(1000, 1));
        SnapshotInfo newer = write(store, 20, 3, state(2000, 2));
        SnapshotStore reopened = track(reopen(store));
        assertThat(reopened.list()).containsExactly(newer, older);
        assertThat(state(reopened, newer)).isEqualTo(state(2000, 2));
    }

    @Test
    void keepsOnlyTheNewestSnapshotsNewestFirst() throws Exception {
        SnapshotStore store = track(create(2));
        SnapshotInfo first = write(store, 10, 1, state(100, 1));
        SnapshotInfo second = write(store, 20, 1, state(100, 2));
        SnapshotInfo third = write(store, 30, 2, state(100, 3));

        assertThat(store.list()).containsExactly(third, second);
        assertThatThrownBy(() -> store.readChunk(first, 0, 10)).isInstanceOf(IOException.class)
                .hasMessageContaining("gone");
        assertThatThrownBy(() -> store.openState(first)).isInstanceOf(IOException.class)
                .hasMessageContaining("gone");
    }

    @Test
    void receivesInChunksFromTheOtherStoreAndBack() throws Exception {
        SnapshotStore store = track(create(2));
        SnapshotStore other = track(createOther());
        byte[] state = state(200_000, 7);

        SnapshotInfo sent = write(other, 40, 4, state);
        SnapshotInfo received = receive(store, 40, 4, file(other, sent, 64 << 10), 64 << 10);
        assertThat(received).isEqualTo(sent);
        assertThat(store.list()).containsExactly(received);
        assertThat(state(store, received)).isEqualTo(state);

        SnapshotInfo mine = write(store, 50, 4, state(1000, 8));
        SnapshotInfo back = receive(other, 50, 4, file(store, mine, 333), 333);
        assertThat(back).isEqualTo(mine);
        assertThat(state(other, back)).isEqualTo(state(1000, 8));
    }

    @Test
    void receiveRefusesASnapshotOtherThanTheOneAnnounced() throws Exception {
        SnapshotStore store = track(create(2));
        byte[] file = fileOf(5, 2, state(1000, 1));
        assertThatThrownBy(() -> receive(store, 6, 2, file, 100)).isInstanceOf(IOException.class)
                .hasMessageContaining("holds index 5, term 2").hasMessageContaining("index 6, term 2");
        assertThatThrownBy(() -> receive(store, 5, 3, file, 100)).isInstanceOf(IOException.class)
                .hasMessageContaining("holds index 5, term 2").hasMessageContaining("term 3");
        assertThat(store.list()).isEmpty();
    }

    @Test
    void receiveRefusesACorruptedChunk() throws Exception {
        SnapshotStore store = track(create(2));
        byte[] file = fileOf(5, 2, state(1000, 1));
        file[500] ^= 0x10;
        assertThatThrownBy(() -> receive(store, 5, 2, file, 100)).isInstanceOf(IOException.class)
                .hasMessageContaining("CRC32C mismatch");
        assertThat(store.list()).isEmpty();
    }

    @Test
    void receiveRefusesATruncatedFile() throws Exception {
        SnapshotStore store = track(create(2));
        byte[] whole = fileOf(5, 2, state(1000, 1));
        assertThatThrownBy(() -> receive(store, 5, 2, Arrays.copyOf(whole, whole.length - 100), 100))
                .isInstanceOf(IOException.class).hasMessageContaining("truncated");
        assertThatThrownBy(() -> receive(store, 5, 2, Arrays.copyOf(whole, 30), 100))
                .isInstanceOf(IOException.class).hasMessageContaining("truncated: 30 bytes");
        assertThat(store.list()).isEmpty();
    }

    @Test
    void receiveRefusesAFutureFormatVersion() throws Exception {
        SnapshotStore store = track(create(2));
        byte[] file = fileOf(5, 2, state(1000, 1));
        ByteBuffer.wrap(file).putShort(6, (short) 3);
        assertThatThrownBy(() -> receive(store, 5, 2, withValidCrc(file), 100)).isInstanceOf(IOException.class)
                .hasMessageContaining("format version 3 is newer than this RaftKit reads (2)");
        assertThat(store.list()).isEmpty();
    }

    @Test
    void receiveRefusesAForeignFile() throws Exception {
        SnapshotStore store = track(create(2));
        byte[] zip = Arrays.copyOf("PK\u0003\u0004 not a snapshot at all".getBytes(StandardCharsets.ISO_8859_1), 200);
        assertThatThrownBy(() -> receive(store, 5, 2, zip, 64)).isInstanceOf(IOException.class)
                .hasMessageContaining("not a RaftKit snapshot: it starts with 0x504b0304206e");
        assertThat(store.list()).isEmpty();
    }

    @Test
    void aChunkMustStartWhereTheFileEnds() throws Exception {
        SnapshotStore store = track(create(2));
        try (SnapshotStore.Receiver r = store.receive(5, 2)) {
            r.write(0, new byte[100]);
            assertThatThrownBy(() -> r.write(50, new byte[10])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("offset 50");
            assertThatThrownBy(() -> r.write(101, new byte[10])).isInstanceOf(IllegalArgumentException.class);
            assertThat(r.receivedBytes()).isEqualTo(100);
        }
    }

    @Test
    void abortedWriteAndReceiveLeaveNothing() throws Exception {
        SnapshotStore store = create(2);
        try (SnapshotStore.Writer w = store.begin(10, 1, MEMBERS)) {
            w.body().write(state(5000, 1));
        }
        byte[] file = fileOf(20, 1, state(5000, 2));
        try (SnapshotStore.Receiver r = store.receive(20, 1)) {
            r.write(0, Arrays.copyOf(file, 1000));
        }
        assertThat(store.list()).isEmpty();
        SnapshotStore reopened = track(reopen(store));
        assertThat(reopened.list()).isEmpty();
        assertThat(write(reopened, 10, 1, state(10, 1)).index()).isEqualTo(10); // and the writer slot is free
    }

    @Test
    void aNewReceiveDiscardsTheOneUnderWay() throws Exception {
        SnapshotStore store = track(create(2));
        byte[] file = fileOf(20, 1, state(5000, 2));
        SnapshotStore.Receiver stale = store.receive(10, 1);
        stale.write(0, new byte[100]);
        SnapshotInfo info = receive(store, 20, 1, file, 1000);
        assertThatThrownBy(() -> stale.write(100, new byte[100])).isInstanceOf(IOException.class);
        assertThatThrownBy(stale::publish).isInstanceOf(IOException.class);
        stale.close();
        assertThat(store.list()).containsExactly(info);
    }

    @Test
    void oneWriterAtATime() throws Exception {
        SnapshotStore store = track(create(2));
        try (SnapshotStore.Writer w = store.begin(10, 1, MEMBERS)) {
            assertThatThrownBy(() -> store.begin(11, 1, MEMBERS)).isInstanceOf(IllegalStateException.class);
            w.publish();
        }
        assertThat(write(store, 12, 1, state(10, 1)).index()).isEqualTo(12);
    }

    @Test
    void listSkipsADamagedNewestSnapshotAndFallsBackToTheOlderOne() throws Exception {
        SnapshotStore store = create(2);
        SnapshotInfo older = write(store, 10, 1, state(1000, 1));
        SnapshotInfo newer = write(store, 20, 1, state(1000, 2));
        damage(store, newer, 600);
        assertThat(store.list()).containsExactly(older);
        SnapshotStore reopened = track(reopen(store));
        assertThat(reopened.list()).containsExactly(older);

        // The damaged one does not count among the kept: after a newer one, two good ones remain.
        SnapshotInfo newest = write(reopened, 30, 2, state(1000, 3));
        assertThat(reopened.list()).containsExactly(newest, older);
        SnapshotInfo after = write(reopened, 40, 2, state(1000, 4));
        assertThat(reopened.list()).containsExactly(after, newest);
    }

    /** A long InstallSnapshot transfer outlives the leader's next snapshots (long-run seed 128). */
    @Test
    void aSnapshotOpenedForSendingStaysReadableInChunksAfterRetentionDeletedIt() throws Exception {
        SnapshotStore store = track(create(1));
        SnapshotInfo old = write(store, 10, 1, state(100_000, 1));
        byte[] whole = readWhole(store, old);
        try (SnapshotStore.ChunkReader reader = store.openChunks(old)) {
            java.io.ByteArrayOutputStream sent = new java.io.ByteArrayOutputStream();
            sent.write(reader.read(0, 1000));
            write(store, 20, 1, state(100, 2)); // keep 1: the old one goes
            write(store, 30, 1, state(100, 3));
            assertThat(store.list()).extracting(SnapshotInfo::index).containsExactly(30L);
            for (long at = 1000; at < old.sizeBytes(); at += 4096) {
                sent.write(reader.read(at, 4096));
            }
            assertThat(sent.toByteArray()).isEqualTo(whole);
        }
    }

    private static byte[] readWhole(SnapshotStore store, SnapshotInfo info) throws IOException {
        return store.readChunk(info, 0, (int) info.sizeBytes());
    }

    @Test
    void aSnapshotOpenedBeforeRetentionDeletedItStaysReadable() throws Exception {
        SnapshotStore store = track(create(1));
        byte[] state = state(100_000, 1);
        SnapshotInfo old = write(store, 10, 1, state);
        try (InputStream in = store.openState(old)) {
            byte[] head = in.readNBytes(1000);
            write(store, 20, 1, state(100, 2)); // keep 1: the old one goes
            assertThat(store.list()).hasSize(1);
            byte[] rest = in.readAllBytes();
            assertThat(ByteBuffer.allocate(state.length).put(head).put(rest).array()).isEqualTo(state);
        }
    }

    @Test
    void readsTheNewestWhileTheNextIsWritten() throws Exception {
        SnapshotStore store = track(create(2));
        byte[] state = state(500_000, 1);
        SnapshotInfo published = write(store, 10, 1, state);
        byte[] expectedFile = file(store, published, 1 << 20);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                for (int pass = 0; pass < 20; pass++) {
                    if (!Arrays.equals(file(store, published, 16 << 10), expectedFile)
                            || !Arrays.equals(state(store, published), state)) {
                        throw new AssertionError("pass " + pass + " read other bytes");
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "snapshot-reader");
        reader.start();
        try (SnapshotStore.Writer w = store.begin(20, 1, MEMBERS)) {
            byte[] next = state(2_000_000, 2);
            for (int at = 0; at < next.length; at += 10_000) {
                w.body().write(next, at, 10_000);
            }
            w.publish();
        }
        reader.join(30_000);
        assertThat(reader.isAlive()).as("reader finished").isFalse();
        assertThat(failure.get()).isNull();
        assertThat(store.list()).extracting(SnapshotInfo::index).containsExactly(20L, 10L);
    }

    /** The bytes of a snapshot file as a store writes it. */
    private static byte[] fileOf(long index, long term, byte[] state) throws IOException {
        try (SnapshotStore scratch = new org.raftkit.memory.MemorySnapshotStore()) {
            return file(scratch, write(scratch, index, term, state), 1 << 20);
        }
    }
}
