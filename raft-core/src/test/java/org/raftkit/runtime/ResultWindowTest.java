package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/** {@link ResultWindow} against a {@code TreeMap} doing the same, over random mostly-ordered traffic. */
class ResultWindowTest {

    @Test
    void behavesLikeASortedMapTrimmedFromBelow() {
        for (long seed = 1; seed <= 20; seed++) {
            SplittableRandom random = new SplittableRandom(seed);
            ResultWindow window = new ResultWindow();
            TreeMap<Long, byte[]> model = new TreeMap<>();
            long next = 1;
            long floor = 1;
            for (int step = 0; step < 5_000; step++) {
                int dice = random.nextInt(10);
                if (dice < 6) {
                    // Mostly the next number; now and then one a little out of order, or a repeat.
                    long sequence = random.nextInt(5) == 0 ? Math.max(floor, next - random.nextInt(20)) : next++;
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
