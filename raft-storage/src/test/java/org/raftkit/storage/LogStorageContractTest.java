package org.raftkit.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.raftkit.storage.TestEntries.entry;
import static org.raftkit.storage.TestEntries.range;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.raftkit.message.Entry;
import org.raftkit.runtime.Await;
import org.raftkit.spi.LogStorage;

/**
 * What every {@link LogStorage} must do, run against each implementation: appends, reads bounded
 * in bytes, terms, suffix truncation, prefix compaction, reset to a snapshot, and keeping what was
 * synced across a reopen (for memory storage "reopen" is the same instance).
 */
abstract class LogStorageContractTest {

    private LogStorage log;

    /** A new, empty log. */
    abstract LogStorage create() throws Exception;

    /** The log as a restarted node finds it, given that everything was synced. */
    abstract LogStorage reopen(LogStorage log) throws Exception;

    /** Whether compaction removes exactly the prefix asked for (memory) or whole segments only. */
    abstract boolean compactsExactly();

    @AfterEach
    void closeLog() {
        if (log != null) {
            log.close();
        }
    }

    @Test
    void newLogIsEmptyAndKnowsTermZeroOfIndexZero() throws Exception {
        log = create();
        assertThat(log.firstIndex()).isEqualTo(1);
        assertThat(log.lastIndex()).isEqualTo(0);
        assertThat(log.term(0)).isEqualTo(0);
        assertThat(log.entries(1, 1, 100)).isEmpty();
        assertThatThrownBy(() -> log.term(1)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void appendedEntriesReadBackWithTheirTerms() throws Exception {
        log = create();
        List<Entry> written = new ArrayList<>(range(1, 50, 1, 100));
        written.addAll(range(51, 50, 3, 7));
        written.add(Entry.noOp(101, 4));
        log.append(written.subList(0, 30));
        log.append(written.subList(30, written.size()));
        log.sync();

        assertThat(log.lastIndex()).isEqualTo(101);
        assertThat(log.entries(1, 102, Long.MAX_VALUE)).isEqualTo(written);
        assertThat(log.entries(40, 60, Long.MAX_VALUE)).isEqualTo(written.subList(39, 59));
        assertThat(log.term(50)).isEqualTo(1);
        assertThat(log.term(51)).isEqualTo(3);
        assertThat(log.term(101)).isEqualTo(4);
        assertThatThrownBy(() -> log.term(102)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void readsStopAtTheByteBoundButReturnAtLeastOneEntry() throws Exception {
        log = create();
        log.append(range(1, 20, 1, 100)); // 124 bytes each as Entry#sizeBytes
        log.sync();

        assertThat(log.entries(1, 21, 124 * 5)).hasSize(5);
        assertThat(log.entries(1, 21, 124 * 5 + 123)).hasSize(5);
        assertThat(log.entries(3, 21, 1)).containsExactly(entry(3, 1, 100));
        assertThat(log.entries(18, 21, Long.MAX_VALUE)).hasSize(3);
    }

    @Test
    void readsOutsideTheLogAndAppendsWithAGapAreRejected() throws Exception {
        log = create();
        log.append(range(1, 5, 1, 10));
        assertThatThrownBy(() -> log.entries(0, 3, 100)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> log.entries(2, 7, 100)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> log.append(List.of(entry(7, 1, 1)))).isInstanceOf(IllegalArgumentException.class);
        assertThat(log.lastIndex()).isEqualTo(5);
    }

    @Test
    void truncatedSuffixIsReplacedByTheNewLeadersEntries() throws Exception {
        log = create();
        log.append(range(1, 40, 1, 200));
        log.sync();

        log.truncateSuffix(25); // a follower drops a conflicting suffix (§5.3)
        assertThat(log.lastIndex()).isEqualTo(24);
        log.append(range(25, 3, 2, 50));
        log.sync();

        List<Entry> expected = new ArrayList<>(range(1, 24, 1, 200));
        expected.addAll(range(25, 3, 2, 50));
        assertThat(log.entries(1, 28, Long.MAX_VALUE)).isEqualTo(expected);
        assertThat(log.term(27)).isEqualTo(2);
        log = reopen(log);
        assertThat(log.lastIndex()).isEqualTo(27);
        assertThat(log.entries(1, 28, Long.MAX_VALUE)).isEqualTo(expected);
    }

    @Test
    void truncatingFromTheFirstIndexEmptiesTheLog() throws Exception {
        log = create();
        log.append(range(1, 30, 1, 100));
        log.truncateSuffix(1);
        assertThat(log.lastIndex()).isEqualTo(0);
        log.truncateSuffix(5); // beyond the end: nothing to do
        log.append(range(1, 2, 2, 3));
        log.sync();
        log = reopen(log);
        assertThat(log.entries(1, 3, Long.MAX_VALUE)).isEqualTo(range(1, 2, 2, 3));
    }

    @Test
    void compactedPrefixIsGoneButTheTermBeforeTheFirstEntryIsKnown() throws Exception {
        log = twoTermLog();

        log.compactPrefix(150);
        long first = log.firstIndex();
        assertThat(first).isBetween(1L, 151L);
        if (compactsExactly()) {
            assertThat(first).isEqualTo(151);
        }
        assertThat(log.term(first - 1)).isEqualTo(termOf(first - 1));
        assertThat(log.entries(first, 201, Long.MAX_VALUE)).isEqualTo(twoTerms(first, 201));
        assertThatThrownBy(() -> log.entries(first - 1, 201, Long.MAX_VALUE))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> log.compactPrefix(202)).isInstanceOf(IllegalArgumentException.class);

        log.append(range(201, 5, 2, 100));
        log.sync();
        log = reopen(log);
        assertThat(log.firstIndex()).isEqualTo(first);
        assertThat(log.term(first - 1)).isEqualTo(termOf(first - 1));
        assertThat(log.entries(first, 206, Long.MAX_VALUE)).isEqualTo(twoTerms(first, 206));
    }

    /** Term of index i in the compaction test's log: 1 up to 100, then 2 (0 for index 0). */
    private static long termOf(long i) {
        return i == 0 ? 0 : i <= 100 ? 1 : 2;
    }

    private static List<Entry> twoTerms(long from, long to) {
        List<Entry> out = new ArrayList<>();
        for (long i = from; i < to; i++) {
            out.add(entry(i, termOf(i), 100));
        }
        return out;
    }

    @Test
    void resetBeyondTheEndStartsAnEmptyLogRightAfterTheSnapshot() throws Exception {
        log = create();
        log.append(range(1, 50, 1, 100));
        log.sync();
        log.append(range(51, 5, 1, 100)); // never synced: discarded with the rest

        log.reset(80, 3); // a follower installs a snapshot of index 80 its log does not reach (Figure 13, rule 7)
        assertEmptyAfter(80, 3);
        log.sync();
        log = reopen(log);
        assertEmptyAfter(80, 3);

        appendSyncAndReopen(80, 3, range(81, 10, 3, 100));
    }

    @Test
    void resetInsideTheLogDiscardsEveryEntryBeforeAndAfterTheSnapshot() throws Exception {
        log = twoTermLog();

        log.reset(150, 4); // the snapshot's term at 150 is not ours: rule 6 does not apply, the log goes
        assertEmptyAfter(150, 4);
        assertThatThrownBy(() -> log.entries(150, 151, Long.MAX_VALUE)).isInstanceOf(IndexOutOfBoundsException.class);

        appendSyncAndReopen(150, 4, range(151, 30, 4, 50)); // other bytes than the discarded 151..180
    }

    @Test
    void resetBelowTheFirstIndexMovesTheStartBack() throws Exception {
        log = twoTermLog();
        log.compactPrefix(150);

        log.reset(20, 1);
        assertEmptyAfter(20, 1);
        appendSyncAndReopen(20, 1, range(21, 3, 5, 10));
    }

    /** The new start is the old first index: for segmented storage, the name of a segment it must not keep. */
    @Test
    void resetJustBeforeTheFirstIndexKeepsNoEntryThere() throws Exception {
        log = twoTermLog();
        log.compactPrefix(150);
        long first = log.firstIndex();
        long term = first == 1 ? 0 : 7; // a storage that kept the whole log resets to index 0, of term 0

        log.reset(first - 1, term);
        assertEmptyAfter(first - 1, term);
        log.sync();
        log = reopen(log);
        assertEmptyAfter(first - 1, term);
        log.append(range(first, 2, 7, 20));
        log.reset(first + 1, 8); // twice in a row, the second over appends not yet synced
        log.sync();
        log = reopen(log);
        assertEmptyAfter(first + 1, 8);
    }

    /** Entries 1 to 100 of term 1 and 101 to 200 of term 2, 100 bytes each, synced. */
    private LogStorage twoTermLog() throws Exception {
        LogStorage l = create();
        l.append(range(1, 100, 1, 100));
        l.append(range(101, 100, 2, 100));
        l.sync();
        return l;
    }

    /** After a reset to (index, term), {@code entries} (from index + 1) go on from it, and a reopen keeps both. */
    private void appendSyncAndReopen(long index, long term, List<Entry> entries) throws Exception {
        log.append(entries);
        log.sync();
        assertThat(log.entries(index + 1, index + 1 + entries.size(), Long.MAX_VALUE)).isEqualTo(entries);
        log = reopen(log);
        assertThat(log.firstIndex()).isEqualTo(index + 1);
        assertThat(log.lastIndex()).isEqualTo(index + entries.size());
        assertThat(log.term(index)).isEqualTo(term);
        assertThat(log.entries(index + 1, index + 1 + entries.size(), Long.MAX_VALUE)).isEqualTo(entries);
    }

    /** After a reset to (index, term): nothing held, the next append at index + 1, term(index) known. */
    private void assertEmptyAfter(long index, long term) {
        assertThat(log.firstIndex()).isEqualTo(index + 1);
        assertThat(log.lastIndex()).isEqualTo(index);
        assertThat(log.term(index)).isEqualTo(term);
        assertThat(log.entries(index + 1, index + 1, Long.MAX_VALUE)).isEmpty();
        assertThatThrownBy(() -> log.term(index - 1)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> log.term(index + 1)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> log.entries(index, index + 1, Long.MAX_VALUE))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> log.append(List.of(entry(index + 2, term, 1))))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void syncedEntriesSurviveAReopen() throws Exception {
        log = create();
        List<Entry> written = TestEntries.appendSyncedBatches(log, new SplittableRandom(7), 30, 20, 600, 10);
        long next = written.size() + 1;
        log = reopen(log);
        assertThat(log.lastIndex()).isEqualTo(next - 1);
        assertThat(log.entries(1, next, Long.MAX_VALUE)).isEqualTo(written);
        for (Entry e : written) {
            assertThat(log.term(e.index())).isEqualTo(e.term());
        }
    }

    @Test
    void readersSeeConsistentEntriesWhileTheWriterAppends() throws Exception {
        log = create();
        AtomicLong synced = new AtomicLong();
        AtomicReference<Throwable> readerFailure = new AtomicReference<>();
        long total = 3_000;
        Thread reader = new Thread(() -> {
            SplittableRandom random = new SplittableRandom(3);
            try {
                while (synced.get() < total) {
                    long last = synced.get();
                    if (last == 0) {
                        continue;
                    }
                    long from = 1 + random.nextLong(last);
                    for (Entry e : log.entries(from, last + 1, 4096)) {
                        if (!e.equals(entry(e.index(), 1 + e.index() / 1000, (int) (e.index() % 300)))) {
                            throw new AssertionError("read back " + e);
                        }
                    }
                    if (log.term(last) != 1 + last / 1000) {
                        throw new AssertionError("term of " + last);
                    }
                }
            } catch (Throwable t) {
                readerFailure.set(t);
            }
        }, "contract-reader");
        reader.start();
        for (long i = 1; i <= total; ) {
            List<Entry> batch = new ArrayList<>();
            for (int k = 0; k < 7 && i <= total; k++, i++) {
                batch.add(entry(i, 1 + i / 1000, (int) (i % 300)));
            }
            log.append(batch);
            log.sync();
            synced.set(i - 1); // the core reads only what it knows is durable
        }
        Await.await(Duration.ofSeconds(20), () -> !reader.isAlive(), () -> "the reader to finish");
        assertThat(readerFailure.get()).isNull();
    }
}
