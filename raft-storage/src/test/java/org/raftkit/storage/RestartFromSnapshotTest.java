package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.RaftServer;
import org.raftkit.RaftStatus;
import org.raftkit.SnapshotConfig;
import org.raftkit.StateMachine;
import org.raftkit.memory.MemoryNetwork;
import org.raftkit.runtime.Await;
import org.raftkit.runtime.TestCluster;

/**
 * What a node reports about its log after a restart from a snapshot, on real files: segments are
 * deleted whole, so the disk keeps entries before the trailing window; the node still reports (and
 * reads) its log from where it started before the restart, and once its storage has caught up,
 * the files hold nothing before the segment that holds that start.
 */
class RestartFromSnapshotTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final long TRAILING = 10;
    /** A snapshot every 50 entries, keeping 10 behind it, in 4 KiB segments of about 80 entries each. */
    private static final SnapshotConfig SMALL = SnapshotConfig.defaults().withTriggers(50, 64L << 20, 3_600_000)
            .withTrailingEntries(TRAILING);

    @TempDir
    Path dir;

    private final MemoryNetwork network = new MemoryNetwork();
    private RaftServer server;
    private SegmentedLogStorage log;
    private Counter counter;

    @AfterEach
    void close() {
        if (server != null) {
            server.close();
        }
        network.close();
    }

    @Test
    void aRestartedNodeReportsTheLogStartItHadNotTheFirstEntryLeftOnDisk() throws Exception {
        start();
        for (int i = 1; i <= 300; i++) {
            server.submit(ByteBuffer.allocate(8).putLong(1).array()).get(10, TimeUnit.SECONDS);
        }
        server.snapshot().get(10, TimeUnit.SECONDS);
        // The status is published once per turn of the Raft loop, so it may trail the snapshot briefly.
        Await.await(WAIT, () -> server.status().firstLogIndex() == server.status().snapshotIndex() - TRAILING + 1,
                () -> "the log to start after the trailing window behind the snapshot: " + server.status());
        RaftStatus before = server.status();
        assertThat(before.snapshotIndex()).isGreaterThan(250);
        Await.await(WAIT, () -> log.firstIndex() > 1, () -> "the storage thread to delete the first segment");
        assertThat(log.firstIndex()).as("whole segments only: some entries before the window stay on disk")
                .isLessThan(before.firstLogIndex());

        server.close();
        start();
        RaftStatus after = server.status();
        assertThat(after.snapshotIndex()).isEqualTo(before.snapshotIndex());
        assertThat(after.firstLogIndex()).as("as before the restart, not the disk's first entry " + log.firstIndex())
                .isEqualTo(before.firstLogIndex());
        // The node may already be applying the entries after the snapshot, so look at what restore() saw.
        assertThat(counter.restored).as("restored from the snapshot").isEqualTo(before.snapshotIndex() - 1);
        Await.await(WAIT, () -> server.status().appliedIndex() >= before.lastLogIndex(),
                () -> "the log after the snapshot to be applied: " + server.status());
        assertThat(counter.value).isEqualTo(300);
        assertThat(server.read(new byte[0]).get(10, TimeUnit.SECONDS)).isEqualTo(ByteBuffer.allocate(8).putLong(300).array());
        Await.await(WAIT, () -> server.status().firstLogIndex() == before.firstLogIndex(),
                () -> "the start to stay put: " + server.status());
    }

    private void start() throws IOException {
        counter = new Counter();
        log = SegmentedLogStorage.open(dir.resolve("log"), SegmentedLogStorage.Options.defaults()
                .withSegmentSizeBytes(4 * 1024));
        server = RaftServer.builder()
                .id("n1")
                .peers("n1")
                .stateMachine(counter)
                .logStorage(log)
                .termVoteStore(FileTermVoteStore.open(dir))
                .snapshotStore(FileSnapshotStore.open(dir.resolve("snapshots")))
                .snapshotConfig(SMALL)
                .transport(network.transport("n1"))
                .config(TestCluster.fastConfig())
                .build();
        server.start();
        Await.await(WAIT, () -> server.status().isLeader(), () -> "n1 to lead itself: " + server.status());
    }

    /** Adds each command's long; a snapshot is the sum. */
    private static final class Counter implements StateMachine {
        volatile long value;
        /** The value restore() read, or -1 if it was never called. */
        volatile long restored = -1;

        @Override
        public byte[] apply(long index, byte[] command) {
            value += ByteBuffer.wrap(command).getLong();
            return new byte[0];
        }

        @Override
        public byte[] query(byte[] query) {
            return ByteBuffer.allocate(8).putLong(value).array();
        }

        @Override
        public Snapshot snapshot() {
            long captured = value;
            return out -> new DataOutputStream(out).writeLong(captured);
        }

        @Override
        public void restore(InputStream in) throws IOException {
            value = new DataInputStream(in).readLong();
            restored = value;
        }
    }
}
