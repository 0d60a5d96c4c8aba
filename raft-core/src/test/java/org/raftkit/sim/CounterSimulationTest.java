package org.raftkit.sim;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.raftkit.StateMachine;

/**
 * The README's {@code Counter}, tested as docs/TESTING.md shows a user would test their own state
 * machine: on a simulated cluster, under faults, against a sequential model.
 */
class CounterSimulationTest {

    /** The README's replicated counter, as it stands there. */
    static class Counter implements StateMachine {
        private long value;

        @Override
        public byte[] apply(long index, byte[] command) {
            value += ByteBuffer.wrap(command).getLong();
            return ByteBuffer.allocate(8).putLong(value).array();
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
        }
    }

    /** What one counter applying the commands in log order answers. */
    static final class CounterModel implements StateMachineSimulation.Model {
        private long value;

        @Override
        public byte[] apply(byte[] command) {
            value += ByteBuffer.wrap(command).getLong();
            return ByteBuffer.allocate(8).putLong(value).array();
        }

        @Override
        public byte[] query(byte[] query) {
            return ByteBuffer.allocate(8).putLong(value).array();
        }
    }

    @Test
    void theCounterStaysConsistentUnderFaults() {
        StateMachineSimulation sim = StateMachineSimulation.builder()
                .stateMachine(Counter::new)
                .commands(random -> ByteBuffer.allocate(8).putLong(1 + random.nextInt(100)).array())
                .queries(random -> new byte[0])
                .model(CounterModel::new)
                .build();
        sim.check(1, 20);
    }

    /** A counter that loses every tenth increment must not pass: the model check catches it. */
    @Test
    void aCounterThatDisagreesWithItsModelIsCaught() {
        StateMachineSimulation sim = StateMachineSimulation.builder()
                .stateMachine(() -> new Counter() {
                    @Override
                    public byte[] apply(long index, byte[] command) {
                        return index % 10 == 0 ? query(command) : super.apply(index, command);
                    }
                })
                .commands(random -> ByteBuffer.allocate(8).putLong(1 + random.nextInt(100)).array())
                .queries(random -> new byte[0])
                .model(CounterModel::new)
                .nodes(3)
                .build();
        assertThatThrownBy(() -> sim.check(1, 1)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("FAILED seed=1").hasMessageContaining("model");
    }
}
