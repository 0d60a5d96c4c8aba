package org.raftkit.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** The session table (thesis §6.3): at most once per client and sequence number, deterministically bounded. */
class SessionsTest {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A node session's command (its id negative, as every node's session id is). */
    private static Sessions.Header h(long client, long sequence, long floor) {
        return new Sessions.Header(Sessions.nodeSessionId(client), sequence, floor);
    }

    /** A registered session's command: its id is the index of its registration. */
    private static Sessions.Header registered(long id, long sequence, long floor) {
        return new Sessions.Header(id, sequence, floor);
    }

    /** Applies like the apply loop does; returns the result, or "DUP:" + first result. */
    private static String apply(Sessions s, long index, Sessions.Header h, String result) {
        Sessions.Outcome o = s.before(index, h);
        if (o.duplicate()) {
            return "DUP:" + new String(o.result(), StandardCharsets.UTF_8);
        }
        s.after(h, bytes(result));
        return result;
    }

    @Test
    void aHeaderRoundTripsAndAMalformedOneIsRecognised() {
        byte[] payload = Sessions.wrap(Sessions.nodeSessionId(7), 5, 3, bytes("cmd"));
        assertThat(Sessions.header(payload)).isEqualTo(h(7, 5, 3));
        assertThat(new String(Sessions.command(payload), StandardCharsets.UTF_8)).isEqualTo("cmd");
        assertThat(Sessions.header(new byte[23])).isNull();
        assertThat(Sessions.header(Sessions.wrap(7, 0, 0, new byte[0]))).as("sequence 0").isNull();
        assertThat(Sessions.header(Sessions.wrap(7, 3, 4, new byte[0]))).as("floor above sequence").isNull();
    }

    @Test
    void aRepeatedCommandIsAnsweredWithItsFirstResultAndNotAppliedAgain() {
        Sessions s = new Sessions(1 << 20, 1_000);
        assertThat(apply(s, 1, h(1, 1, 1), "r1")).isEqualTo("r1");
        assertThat(apply(s, 2, h(1, 2, 1), "r2")).isEqualTo("r2");
        assertThat(apply(s, 3, h(1, 1, 1), "other")).isEqualTo("DUP:r1");
        assertThat(apply(s, 4, h(2, 1, 1), "client 2")).as("another client's sequence 1").isEqualTo("client 2");
        assertThat(s.duplicates()).isEqualTo(1);
    }

    @Test
    void theFloorForgetsResultsTheClientNoLongerNeedsAndRefusesWhatItGaveUp() {
        Sessions s = new Sessions(1 << 20, 1_000);
        apply(s, 1, h(1, 1, 1), "r1");
        apply(s, 2, h(1, 2, 1), "r2");
        long before = s.bytes();
        apply(s, 3, h(1, 3, 3), "r3");
        assertThat(s.bytes()).as("results 1 and 2 dropped, 3 kept").isLessThan(before + Sessions.RESULT_OVERHEAD_BYTES);
        assertThat(apply(s, 4, h(1, 1, 1), "late")).as("below the floor: given up, never applied").isEqualTo("DUP:");
        assertThat(apply(s, 5, h(1, 3, 3), "again")).isEqualTo("DUP:r3");
    }

    @Test
    void aSessionExpiresAfterSoManyEntriesWithoutACommandOnEveryNodeAlike() {
        Sessions s = new Sessions(1 << 20, 10);
        apply(s, 1, h(1, 1, 1), "r1");
        apply(s, 5, h(2, 1, 1), "x");
        apply(s, 10, h(2, 2, 1), "y");
        assertThat(s.clientCount()).isEqualTo(2);
        apply(s, 11, h(2, 3, 1), "z"); // 10 entries after client 1's last command
        assertThat(s.clientCount()).isEqualTo(1);
        assertThat(s.expiredCount()).isEqualTo(1);
        assertThat(apply(s, 12, h(1, 1, 1), "again")).as("expired: applied again").isEqualTo("again");
    }

    @Test
    void aFullTableDropsTheLeastRecentlyActiveClientFirst() {
        long max = 3 * (Sessions.CLIENT_OVERHEAD_BYTES + Sessions.RESULT_OVERHEAD_BYTES + 2);
        Sessions s = new Sessions(max, 1_000_000);
        apply(s, 1, h(1, 1, 1), "r1");
        apply(s, 2, h(2, 1, 1), "r2");
        apply(s, 3, h(3, 1, 1), "r3");
        apply(s, 4, h(1, 2, 1), "s1"); // client 1 active again: client 2 is now the oldest
        assertThat(s.bytes()).isLessThanOrEqualTo(max);
        assertThat(apply(s, 5, h(1, 1, 1), "x")).isEqualTo("DUP:r1");
        assertThat(apply(s, 6, h(2, 1, 1), "x")).as("client 2 was dropped for space").isEqualTo("x");
    }

    @Test
    void theTableTravelsInASnapshotAheadOfTheStateMachinesBytes() throws IOException {
        Sessions s = new Sessions(1 << 20, 1_000);
        apply(s, 1, h(1, 1, 1), "r1");
        apply(s, 2, h(2, 4, 2), "r2");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(s.snapshot());
        body.write(bytes("STATE"));

        Sessions restored = new Sessions(1 << 20, 1_000);
        InputStream rest = restored.restore(new ByteArrayInputStream(body.toByteArray()));
        assertThat(new String(rest.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("STATE");
        assertThat(restored.bytes()).isEqualTo(s.bytes());
        assertThat(apply(restored, 3, h(2, 4, 2), "x")).isEqualTo("DUP:r2");
        assertThat(apply(restored, 4, h(1, 1, 1), "x")).isEqualTo("DUP:r1");
    }

    @Test
    void aSnapshotWrittenBeforeSessionsIsTheStateMachinesBytesAlone() throws IOException {
        Sessions s = new Sessions(1 << 20, 1_000);
        apply(s, 1, h(1, 1, 1), "r1");
        InputStream rest = s.restore(new ByteArrayInputStream(bytes("RAW STATE")));
        assertThat(new String(rest.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("RAW STATE");
        assertThat(s.clientCount()).as("replaced by the snapshot's (empty) table").isZero();
    }

    @Test
    void aCutShortTableIsAnErrorNotAnEmptyTable() throws IOException {
        Sessions s = new Sessions(1 << 20, 1_000);
        apply(s, 1, h(1, 1, 1), "result");
        byte[] table = s.snapshot();
        byte[] cut = java.util.Arrays.copyOf(table, table.length - 3);
        assertThatThrownBy(() -> new Sessions(1 << 20, 1_000).restore(new ByteArrayInputStream(cut)))
                .isInstanceOf(IOException.class);
    }

    @Test
    void theFloorOfThisNodesOwnSessionIsItsLowestOpenCall() {
        ClientSession session = new ClientSession(42);
        long a = session.open();
        long b = session.open();
        long c = session.open();
        assertThat(session.floor(c)).isEqualTo(a);
        session.close(a);
        assertThat(session.floor(c)).isEqualTo(b);
        session.close(b);
        session.close(c);
        long d = session.open();
        assertThat(session.floor(d)).isEqualTo(d);
    }

    @Test
    void aRegisteredSessionIsKnownFromItsRegistrationAndItsRepeatsAreAnsweredOnce() {
        Sessions s = new Sessions(1 << 20, 1_000);
        assertThat(s.register(5)).isEqualTo(java.nio.ByteBuffer.allocate(8).putLong(5).array());
        assertThat(apply(s, 6, registered(5, 1, 1), "r1")).isEqualTo("r1");
        assertThat(apply(s, 7, registered(5, 1, 1), "again")).isEqualTo("DUP:r1");
        assertThat(apply(s, 8, registered(5, 2, 1), "r2")).isEqualTo("r2");
        assertThat(s.registeredCount()).isEqualTo(1);
    }

    @Test
    void aCommandOfARegisteredIdTheTableDoesNotHoldIsRefusedNotApplied() {
        Sessions s = new Sessions(1 << 20, 1_000);
        s.register(3);
        // Never registered: index 4 was something else.
        assertThat(s.before(10, registered(4, 1, 1)).result()).isSameAs(Sessions.EXPIRED);
        // Expired: silent for the expiry window.
        apply(s, 11, registered(3, 1, 1), "r1");
        assertThat(s.before(11 + 1_000, registered(3, 2, 1)).result()).isSameAs(Sessions.EXPIRED);
        assertThat(s.clientCount()).isZero();
        assertThat(s.expiredRefusals()).isEqualTo(2);
        // An id at or after the command's own index cannot be a registration: a node session.
        assertThat(apply(s, 2_000, registered(2_000, 1, 1), "new")).isEqualTo("new");
    }

    @Test
    void aRegisteredSessionEvictedForSpaceIsRefusedToo() {
        Sessions s = new Sessions(3 * Sessions.CLIENT_OVERHEAD_BYTES + 2 * (Sessions.RESULT_OVERHEAD_BYTES + 2) - 1, 1_000);
        s.register(1);
        apply(s, 2, registered(1, 1, 1), "r1");
        s.register(3);
        apply(s, 4, registered(3, 1, 1), "r3");
        s.register(5); // past the bound: session 1, the least recently active, goes
        assertThat(s.before(6, registered(1, 2, 1)).result()).isSameAs(Sessions.EXPIRED);
        assertThat(apply(s, 7, registered(3, 1, 1), "x")).isEqualTo("DUP:r3");
    }

    @Test
    void registeredSessionsTravelInSnapshots() throws IOException {
        Sessions s = new Sessions(1 << 20, 1_000);
        s.register(2);
        apply(s, 3, registered(2, 1, 1), "r1");
        Sessions restored = new Sessions(1 << 20, 1_000);
        restored.restore(new ByteArrayInputStream(s.snapshot()));
        assertThat(apply(restored, 4, registered(2, 1, 1), "again")).isEqualTo("DUP:r1");
        assertThat(restored.before(5, registered(1, 1, 1)).result()).as("never registered").isSameAs(Sessions.EXPIRED);
    }
}
