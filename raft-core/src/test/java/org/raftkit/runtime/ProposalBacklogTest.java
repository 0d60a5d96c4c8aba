package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;

import org.junit.jupiter.api.Test;

/** The leader's proposal backlog keeps (index, bytes) pairs in order and their total, across growth and wrap-around. */
class ProposalBacklogTest {

    @Test
    void keepsTheSameTotalAsAQueueOfPairsThroughGrowthAndWrapAround() {
        ProposalBacklog backlog = new ProposalBacklog();
        ArrayDeque<long[]> model = new ArrayDeque<>();
        long next = 1;
        long applied = 0;
        java.util.SplittableRandom random = new java.util.SplittableRandom(7);
        for (int round = 0; round < 2_000; round++) {
            for (int i = random.nextInt(0, 200); i > 0; i--) {
                long size = random.nextInt(0, 4096);
                backlog.add(next, size);
                model.addLast(new long[] {next, size});
                next++;
            }
            applied = Math.min(next - 1, applied + random.nextInt(0, 220));
            backlog.trimTo(applied);
            while (!model.isEmpty() && model.peekFirst()[0] <= applied) {
                model.pollFirst();
            }
            assertThat(backlog.size()).isEqualTo(model.size());
            assertThat(backlog.bytes()).isEqualTo(model.stream().mapToLong(p -> p[1]).sum());
        }
    }

    @Test
    void clearForgetsEverythingWhenLeadershipEnds() {
        ProposalBacklog backlog = new ProposalBacklog();
        backlog.add(5, 100);
        backlog.add(6, 50);
        backlog.clear();
        assertThat(backlog.size()).isZero();
        assertThat(backlog.bytes()).isZero();
        backlog.add(9, 7);
        backlog.trimTo(8);
        assertThat(backlog.bytes()).isEqualTo(7);
    }
}
