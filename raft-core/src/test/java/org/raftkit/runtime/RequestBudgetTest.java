package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The bound on calls in flight, in count and bytes. */
class RequestBudgetTest {

    @Test
    void refusesOverEitherLimitAndTakesNothingWhenRefusing() {
        RequestBudget budget = new RequestBudget(2, 100);
        assertThat(budget.tryAcquire(60)).isTrue();
        assertThat(budget.tryAcquire(50)).as("over the byte limit").isFalse();
        assertThat(budget.tryAcquire(40)).isTrue();
        assertThat(budget.tryAcquire(0)).as("over the count limit").isFalse();
        assertThat(budget.requests()).isEqualTo(2);
        assertThat(budget.bytes()).isEqualTo(100);

        budget.release(60);
        assertThat(budget.tryAcquire(60)).isTrue();
    }

    @Test
    void finishingARequestTwiceReleasesOnce() {
        RequestBudget budget = new RequestBudget(1, 100);
        assertThat(budget.tryAcquire(3)).isTrue();
        LocalRequest r = new LocalRequest(Request.Kind.WRITE, new byte[3], 0, budget);
        r.complete(new byte[0]);
        r.fail(new org.raftkit.UnknownOutcomeException("late"));
        assertThat(budget.requests()).isZero();
        assertThat(budget.bytes()).isZero();
        assertThat(r.future()).isCompleted();
    }
}
