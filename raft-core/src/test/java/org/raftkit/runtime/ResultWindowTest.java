package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/** {@link ResultWindow} against a {@code TreeMap} doing the same, over random mostly-ordered traffic. */
class ResultWindowTest {

    /**
     * Found by the lease simulation, seed 72 (every node failed-stop applying one entry): a number
     * out of order arriving when the window was at the end of its arrays. Its place was looked up
     * before the window slid to the front, so the insert used a stale position.
     */
    @Test
    void aNumberOutOfOrderWhenTheWindowMustSlideGoesInItsPlace() {
        ResultWindow window = new ResultWindow();
        for (long s : new long[] {1, 2, 3, 4, 5, 6, 8, 9}) { // 7 missing; the arrays (8) are full
            window.put(s, new byte[] {(byte) s});
        }
        window.dropBelow(6, 0); // the window is 6, 8, 9 at the end of the arrays
        window.put(7, new byte[] {7});
        assertThat(window.size()).isEqualTo(4);
        long[] expected = {6, 7, 8, 9};
        for (int i = 0; i < 4; i++) {
            assertThat(window.sequenceAt(i)).isEqualTo(expected[i]);
            assertThat(window.resultAt(i)[0]).isEqualTo((byte) expected[i]);
        }
        assertThat(window.get(7)).containsExactly(7);
    }

    @Test
    void behavesLikeASortedMapTrimmedFromBelow() {
        for (long seed = 1; seed <= 200; seed++) {
            SplittableRandom random = new SplittableRandom(seed);
            ResultWindow window = new ResultWindow();
            TreeMap<Long, byte[]> model = new TreeMap<>();
            long next = 1;
            long floor = 1;
            for (int step = 0; step < 5_000; step++) {
                int dice = random.nextInt(10);
                if (dice < 6) {
                    // Mostly the next number, sometimes leaving a hole; now and then one a little out of
                    // order (filling a hole, or a repeat).
                    long sequence;
                    if (random.nextInt(5) == 0) {
                        sequence = Math.max(floor, next - random.nextInt(20));
                    } else {
                        sequence = next;
                        next += random.nextInt(4) == 0 ? 2 : 1;
                    }
                    byte[] result = new byte[random.nextInt(4)];
                    byte[] replaced = window.put(sequence, result);
                    assertThat(replaced).isSameAs(model.put(sequence, result));
                } else if (dice < 8) {
                    floor = Math.min(next, floor + random.nextInt(8));
                    long expected = 0;
                    var head = model.headMap(floor);
                    for (byte[] r : head.values()) {
                        expected += 10 + r.length;
                    }
                    head.clear();
                    assertThat(window.dropBelow(floor, 10)).isEqualTo(expected);
                } else {
                    long sequence = floor + random.nextInt((int) Math.max(1, next - floor + 3));
                    assertThat(window.get(sequence)).isSameAs(model.get(sequence));
                }
                assertThat(window.size()).isEqualTo(model.size());
            }
            int i = 0;
            for (Map.Entry<Long, byte[]> e : model.entrySet()) {
                assertThat(window.sequenceAt(i)).isEqualTo(e.getKey());
                assertThat(window.resultAt(i)).isSameAs(e.getValue());
                i++;
            }
        }
    }
}
