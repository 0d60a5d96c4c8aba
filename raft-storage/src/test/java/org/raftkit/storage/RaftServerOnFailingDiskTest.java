package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.NotLeaderException;
import org.raftkit.RaftListener;
import org.raftkit.RaftServer;
import org.raftkit.RaftStatus;
import org.raftkit.ServerBusyException;
import org.raftkit.UnknownOutcomeException;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.memory.MemoryNetwork;
import org.raftkit.memory.MemoryTermVoteStore;
import org.raftkit.runtime.Await;
import org.raftkit.runtime.RecordingStateMachine;
import org.raftkit.runtime.TestCluster;

/**
 * The operator's view of a disk that fails under one node of three: that node's fsync returns
 * EIO, so it stops itself (FAILED) while the other two keep committing; once the disk is healed
 * the node restarts on the same directory, recovers without a partial record, and catches up.
 */
class RaftServerOnFailingDiskTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private final MemoryNetwork network = new MemoryNetwork();
    private final Map<String, RaftServer> servers = new LinkedHashMap<>();
    private final Map<String, RecordingStateMachine> machines = new LinkedHashMap<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final FaultyChannels disk = new FaultyChannels();

    @AfterEach
    void closeAll() {
        servers.values().forEach(RaftServer::close);
        network.close();
    }

    @Test
    void nodeWhoseFsyncFailsStopsTheOthersCommitAndAfterRepairItRecoversAndCatchesUp() throws IOException {
        start("d1");
        start("d2");
        start("d3"); // on disk, through the faulty channels
        submit("a");
        awaitSameApplied(List.of("d1", "d2", "d3"), 1);

        disk.failForces();
        submit("b");
        // The runtime marks the node FAILED first, then tells the listener.
        Await.await(WAIT, () -> failure.get() != null, () -> "d3 to fail: " + servers.get("d3").status());
        assertThat(servers.get("d3").status().state()).isEqualTo(RaftStatus.State.FAILED);
        assertThat(failure.get()).isInstanceOf(StorageFailedException.class).hasMessageContaining("injected EIO on fsync");

        submit("c");
        submit("d");
        List<String> committed = awaitSameApplied(List.of("d1", "d2"), 4);
        // "a", or "a#1" when the first attempt met an election (a loaded machine): see submit.
        assertThat(committed.get(0)).startsWith("a");
        assertThat(committed).anyMatch(c -> c.startsWith("c")).anyMatch(c -> c.startsWith("d"));

        servers.get("d3").close();
        disk.heal();
        start("d3"); // same directory: recovery runs in open()
        assertThat(awaitSameApplied(List.of("d1", "d2", "d3"), committed.size())).startsWith(committed.toArray(new String[0]));
        submit("e");
        awaitSameApplied(List.of("d1", "d2", "d3"), committed.size() + 1);
    }

    private void start(String id) throws IOException {
        RecordingStateMachine machine = new RecordingStateMachine();
        boolean onDisk = id.equals("d3");
        RaftServer server = RaftServer.builder()
                .id(id)
                .peers("d1", "d2", "d3")
                .stateMachine(machine)
                .logStorage(onDisk ? SegmentedLogStorage.open(dir, SegmentedLogStorage.Options.defaults()
                        .withSegmentSizeBytes(64 * 1024).withChannelFactory(disk)) : new MemoryLogStorage())
                .termVoteStore(onDisk ? FileTermVoteStore.open(dir) : new MemoryTermVoteStore())
                .transport(network.transport(id))
                .config(TestCluster.fastConfig())
                .random(id.hashCode())
                .listener(new RaftListener() {
                    @Override
                    public void onFailure(Throwable cause) {
                        failure.set(cause);
                    }
                })
                .build();
        servers.put(id, server);
        machines.put(id, machine);
        server.start();
    }

    /**
     * Submits on a healthy node until one attempt succeeds. An attempt may time out with an unknown
     * outcome (if d3 led when its disk failed, a forwarded write dies with it); the retry then uses
     * a new name ("c#1"), so the check below can tell each attempt apart.
     */
    private void submit(String command) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        for (int attempt = 0; ; attempt++) {
            String name = attempt == 0 ? command : command + "#" + attempt;
            CompletableFuture<byte[]> f = servers.get("d1").submit(RecordingStateMachine.bytes(name));
            try {
                f.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
                return;
            } catch (ExecutionException e) {
                boolean retriable = e.getCause() instanceof NotLeaderException
                        || e.getCause() instanceof ServerBusyException || e.getCause() instanceof UnknownOutcomeException;
                if (!retriable || System.nanoTime() - deadline > 0) {
                    throw new AssertionError("submit of " + name + " failed", e.getCause());
                }
            } catch (TimeoutException | InterruptedException e) {
                throw new AssertionError("submit of " + name + " did not complete", e);
            }
        }
    }

    /** Waits until the state machines of {@code ids} hold the same commands, at least {@code minCount}. */
    private List<String> awaitSameApplied(List<String> ids, int minCount) {
        AtomicReference<List<String>> agreed = new AtomicReference<>();
        Await.await(WAIT, () -> {
            List<String> first = machines.get(ids.get(0)).commands();
            boolean same = first.size() >= minCount
                    && ids.stream().allMatch(id -> machines.get(id).commands().equals(first));
            agreed.set(first);
            return same;
        }, () -> ids + " to apply the same " + minCount + "+ commands, have " + applied(ids));
        return agreed.get();
    }

    private List<String> applied(List<String> ids) {
        List<String> out = new ArrayList<>();
        for (String id : ids) {
            out.add(id + "=" + machines.get(id).commands() + " " + servers.get(id).status());
        }
        return out;
    }
}
