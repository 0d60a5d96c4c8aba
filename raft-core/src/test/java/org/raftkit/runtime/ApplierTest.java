package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.raftkit.runtime.RecordingStateMachine.bytes;
import static org.raftkit.runtime.RecordingStateMachine.string;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.raftkit.spi.Scheduler;
import org.raftkit.NotLeaderException;
import org.raftkit.StateMachineException;
import org.raftkit.message.Entry;

/** The apply thread: completing proposers, replaced entries, reads waiting for their index, failures. */
class ApplierTest {

    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final long FAR = Long.MAX_VALUE / 2;

    private final RecordingStateMachine machine = new RecordingStateMachine();
    private final Inbox inbox = new Inbox(100, 1 << 20);
    private final LiveStatus status = new LiveStatus("n1", List.of("n1", "n2", "n3"));
    private final RequestBudget budget = new RequestBudget(100, 1 << 20);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Applier applier = new Applier("n1", machine, 0, inbox, status, (where, cause) -> failure.set(cause),
            RuntimeMetricsTest.unreported());
    private Scheduler.Loop loop;

    /** Runs the applier loop on a real thread, as production does. */
    private void startLoop() {
        loop = ThreadScheduler.INSTANCE.start("test-apply", applier::step);
        applier.bind(loop);
    }

    @BeforeEach
    void start() {
        startLoop();
    }

    @AfterEach
    void stop() throws InterruptedException {
        applier.stop();
        if (loop != null) {
            assertThat(loop.join(WAIT.toMillis())).isTrue();
        }
    }

    @Test
    void proposerGetsTheResultOnlyIfItsOwnEntryWasApplied() {
        LocalRequest mine = write("a", 1, 1);
        LocalRequest replaced = write("b", 2, 1);
        applier.submit(mine);
        applier.submit(replaced);

        applier.submitCommitted(List.of(Entry.command(1, 1, bytes("a")), Entry.command(2, 2, bytes("other"))));

        assertThat(string(Await.value(mine.future(), WAIT))).isEqualTo("1:a");
        assertThat(Await.failure(replaced.future(), WAIT)).isInstanceOf(NotLeaderException.class);
        assertThat(machine.commands()).containsExactly("a", "other");
        Await.await(WAIT, () -> status.appliedIndex == 2);
        assertThat(inbox.pollLocal()).isEqualTo(new Inbox.Applied(2));
    }

    @Test
    void proposalsAtOneIndexInTwoTermsWaitForTheEntryThatIsCommittedThere() {
        // A leader of term 1 proposed "a" at 1, lost its log's tail, led again in term 2 and proposed
        // "b" at 1. "a" may survive elsewhere and win (Figure 8), so neither fails early.
        LocalRequest older = write("a", 1, 1);
        LocalRequest newer = write("b", 1, 2);
        applier.submit(older);
        applier.submit(newer);
        LocalRequest roundTrip = read("count", 0);
        applier.submit(roundTrip);
        Await.value(roundTrip.future(), WAIT); // the apply thread has seen both proposals
        assertThat(older.future()).isNotDone();
        assertThat(newer.future()).isNotDone();

        applier.submitCommitted(List.of(Entry.command(1, 1, bytes("a"))));

        assertThat(string(Await.value(older.future(), WAIT))).isEqualTo("1:a");
        assertThat(Await.failure(newer.future(), WAIT)).isInstanceOf(NotLeaderException.class);
    }

    @Test
    void readWaitsUntilItsReadIndexIsApplied() {
        applier.submitCommitted(List.of(Entry.command(1, 1, bytes("a"))));
        LocalRequest read = read("last", 2);
        applier.submit(read);
        LocalRequest stale = new LocalRequest(Request.Kind.STALE_READ, bytes("last"), FAR, budget);
        applier.submit(stale);
        assertThat(string(Await.value(stale.future(), WAIT))).isEqualTo("a");
        assertThat(read.future()).isNotDone();

        applier.submitCommitted(List.of(Entry.noOp(2, 2)));
        assertThat(string(Await.value(read.future(), WAIT))).isEqualTo("a");
    }

    @Test
    void queryExceptionFailsOnlyThatRead() {
        LocalRequest bad = read("boom", 0);
        LocalRequest good = read("count", 0);
        applier.submit(bad);
        applier.submit(good);
        assertThat(Await.failure(bad.future(), WAIT)).isInstanceOf(StateMachineException.class);
        assertThat(string(Await.value(good.future(), WAIT))).isEqualTo("0");
        assertThat(failure.get()).isNull();
    }

    @Test
    void applyExceptionFailsTheProposerAndStopsTheNode() {
        LocalRequest boom = write("boom", 1, 1);
        applier.submit(boom);
        applier.submitCommitted(List.of(Entry.command(1, 1, bytes("boom")), Entry.command(2, 1, bytes("never"))));

        assertThat(Await.failure(boom.future(), WAIT)).isInstanceOf(StateMachineException.class);
        Await.await(WAIT, () -> failure.get() != null);
        assertThat(failure.get()).isInstanceOf(StateMachineException.class).hasRootCauseMessage("boom at 1");
        assertThat(machine.commands()).isEmpty();
        assertThat(budget.requests()).isZero();
    }

    /**
     * The defence behind ClientSessionTest's invariant: if a call is still waiting for a command
     * that its session's floor had already passed (which that invariant rules out), the command is
     * not applied and the caller hears "unknown outcome", never success with an empty result.
     */
    @Test
    void aWaitingCallBelowItsSessionsFloorIsNotToldItSucceeded() {
        LocalRequest ahead = write("x", 1, 1);
        LocalRequest behind = write("y", 2, 1);
        applier.submit(ahead);
        applier.submit(behind);

        applier.submitCommitted(List.of(
                new Entry(1, 1, org.raftkit.message.EntryType.SESSION_COMMAND, Sessions.wrap(Sessions.nodeSessionId(7), 2, 2, bytes("x"))),
                new Entry(2, 1, org.raftkit.message.EntryType.SESSION_COMMAND, Sessions.wrap(Sessions.nodeSessionId(7), 1, 1, bytes("y")))));

        assertThat(string(Await.value(ahead.future(), WAIT))).isEqualTo("1:x");
        assertThat(Await.failure(behind.future(), WAIT)).isInstanceOf(org.raftkit.UnknownOutcomeException.class)
                .hasMessageContaining("below its session's floor");
        assertThat(machine.commands()).containsExactly("x");
    }

    private LocalRequest write(String command, long index, long term) {
        assertThat(budget.tryAcquire(command.length())).isTrue();
        LocalRequest r = new LocalRequest(Request.Kind.WRITE, bytes(command), FAR, budget);
        r.index = index;
        r.term = term;
        return r;
    }

    private LocalRequest read(String query, long readIndex) {
        assertThat(budget.tryAcquire(query.length())).isTrue();
        LocalRequest r = new LocalRequest(Request.Kind.READ, bytes(query), FAR, budget);
        r.readIndex = readIndex;
        return r;
    }
}
