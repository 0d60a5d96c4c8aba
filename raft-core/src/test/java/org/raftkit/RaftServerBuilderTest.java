package org.raftkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.memory.MemoryNetwork;
import org.raftkit.memory.MemoryTermVoteStore;
import org.raftkit.runtime.RecordingStateMachine;

/** Building and starting a server: what is required, what is refused. */
class RaftServerBuilderTest {

    private final MemoryNetwork network = new MemoryNetwork();

    @Test
    void missingPartIsNamed() {
        RaftServer.Builder b = RaftServer.builder().id("n1").peers("n1")
                .stateMachine(new RecordingStateMachine()).logStorage(new MemoryLogStorage());
        assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class).hasMessageContaining("termVoteStore");
    }

    @Test
    void idMustBeAmongPeers() {
        RaftServer.Builder b = complete("n1").peers("n2", "n3");
        assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("n1");
    }

    @Test
    void newServerReportsItsStateAndRefusesCallsUntilStarted() {
        try (RaftServer server = complete("n1").build()) {
            RaftStatus status = server.status();
            assertThat(status.state()).isEqualTo(RaftStatus.State.NEW);
            assertThat(status.role()).isEqualTo(Role.FOLLOWER);
            assertThat(status.members()).containsExactly("n1", "n2", "n3");
            assertThat(status.lastLogIndex()).isZero();
            assertThatThrownBy(() -> server.submit(new byte[0])).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void startsOnlyOnce() {
        try (RaftServer server = complete("n1").build()) {
            server.start();
            assertThat(server.status().state()).isEqualTo(RaftStatus.State.RUNNING);
            assertThatThrownBy(server::start).isInstanceOf(IllegalStateException.class);
        }
    }

    private RaftServer.Builder complete(String id) {
        return RaftServer.builder().id(id).peers("n1", "n2", "n3")
                .stateMachine(new RecordingStateMachine())
                .logStorage(new MemoryLogStorage())
                .termVoteStore(new MemoryTermVoteStore())
                .transport(network.transport(id))
                .random(7);
    }
}
