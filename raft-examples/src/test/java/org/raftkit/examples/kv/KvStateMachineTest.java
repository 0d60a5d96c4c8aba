package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.raftkit.examples.kv.KvCommand.Condition;
import org.raftkit.examples.kv.KvCommand.Outcome;
import org.raftkit.examples.kv.KvCommand.Result;

class KvStateMachineTest {

    private final KvStateMachine kv = new KvStateMachine();

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private Result apply(long index, byte[] command) {
        return KvCommand.decodeResult(kv.apply(index, command));
    }

    private Result get(String key) {
        return KvCommand.decodeResult(kv.query(KvCommand.get(key)));
    }

    @Test
    void theRevisionIsTheLogIndexOfTheLastChange() {
        Result put = apply(3, KvCommand.put("a", bytes("x"), Condition.NONE, 0));
        assertThat(put.outcome()).isEqualTo(Outcome.OK);
        assertThat(put.revision()).isEqualTo(3);
        apply(7, KvCommand.put("b", bytes("y"), Condition.NONE, 0));
        Result a = get("a");
        assertThat(a.outcome()).isEqualTo(Outcome.OK);
        assertThat(a.revision()).isEqualTo(3);
        assertThat(a.value()).isEqualTo(bytes("x"));
        apply(9, KvCommand.put("a", bytes("z"), Condition.NONE, 0));
        assertThat(get("a").revision()).isEqualTo(9);
    }

    @Test
    void aRepeatUnderAnIdempotencyKeyGetsTheFirstAnswerAndChangesNothing() {
        byte[] put = KvCommand.idempotent("req-1", KvCommand.put("k", bytes("v1"), Condition.NONE, 0));
        Result first = apply(3, put);
        assertThat(first.outcome()).isEqualTo(Outcome.OK);
        apply(4, KvCommand.put("k", bytes("v2"), Condition.NONE, 0));

        Result repeat = apply(5, put);

        assertThat(repeat.outcome()).isEqualTo(Outcome.OK);
        assertThat(repeat.revision()).as("the first answer's revision").isEqualTo(3);
        assertThat(get("k").value()).as("not applied again").isEqualTo(bytes("v2"));
        Result other = apply(6, KvCommand.idempotent("req-1", KvCommand.put("k", bytes("v3"), Condition.NONE, 0)));
        assertThat(other.outcome()).isEqualTo(Outcome.IDEMPOTENCY_KEY_REUSED);
        assertThat(get("k").value()).isEqualTo(bytes("v2"));
    }

    @Test
    void anIdempotencyKeyIsForgottenAfterItsWindowOfEntriesOnEveryNodeAlike() {
        byte[] put = KvCommand.idempotent("req", KvCommand.put("k", bytes("v"), Condition.NONE, 0));
        apply(1, put);
        apply(KvStateMachine.IDEMPOTENCY_WINDOW_ENTRIES, put);
        assertThat(kv.idempotencyKeys()).isEqualTo(1);
        assertThat(apply(1 + KvStateMachine.IDEMPOTENCY_WINDOW_ENTRIES, put).revision())
                .as("forgotten: applied again").isEqualTo(1 + KvStateMachine.IDEMPOTENCY_WINDOW_ENTRIES);
    }

    @Test
    void idempotencyKeysTravelInTheSnapshotAndAVersionOneSnapshotStillRestores() throws Exception {
        byte[] put = KvCommand.idempotent("req", KvCommand.put("k", bytes("v"), Condition.NONE, 0));
        apply(1, put);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        kv.snapshot().writeTo(out);
        KvStateMachine restored = new KvStateMachine();
        restored.restore(new java.io.ByteArrayInputStream(out.toByteArray()));
        assertThat(restored.idempotencyKeys()).isEqualTo(1);
        assertThat(KvCommand.decodeResult(restored.apply(2, put)).revision()).isEqualTo(1);

        // Version 1: version, last applied, count, then entries, and nothing after them.
        java.io.ByteArrayOutputStream v1 = new java.io.ByteArrayOutputStream();
        java.io.DataOutputStream data = new java.io.DataOutputStream(v1);
        data.writeInt(1);
        data.writeLong(9);
        data.writeInt(1);
        data.writeUTF("old");
        data.writeLong(9);
        data.writeInt(1);
        data.write('x');
        KvStateMachine fromV1 = new KvStateMachine();
        fromV1.restore(new java.io.ByteArrayInputStream(v1.toByteArray()));
        assertThat(KvCommand.decodeResult(fromV1.query(KvCommand.get("old"))).value()).isEqualTo(bytes("x"));
        assertThat(fromV1.idempotencyKeys()).isZero();
    }

    @Test
    void aMemberStartIsRecordedOnceTravelsInTheSnapshotAndAVersionTwoSnapshotStillRestores() throws Exception {
        Result first = apply(4, KvCommand.memberStarted("n3"));
        assertThat(first.outcome()).isEqualTo(Outcome.OK);
        assertThat(first.revision()).isEqualTo(4);
        assertThat(apply(9, KvCommand.memberStarted("n3")).revision()).as("the first record stays").isEqualTo(4);
        apply(10, KvCommand.memberStarted("n1"));
        assertThat(apply(11, KvCommand.memberStarted("bad\nid")).outcome()).isEqualTo(Outcome.MALFORMED);
        assertThat(started(kv)).containsExactly(java.util.Map.entry("n1", 10L), java.util.Map.entry("n3", 4L));
        assertThat(get("n3").outcome()).as("not a key").isEqualTo(Outcome.NOT_FOUND);

        KvStateMachine restored = new KvStateMachine();
        restored.restore(new ByteArrayInputStream(snapshot(kv)));
        assertThat(started(restored)).containsExactly(java.util.Map.entry("n1", 10L), java.util.Map.entry("n3", 4L));

        // Version 2: entries and idempotency keys, nothing after them.
        ByteArrayOutputStream v2 = new ByteArrayOutputStream();
        java.io.DataOutputStream data = new java.io.DataOutputStream(v2);
        data.writeInt(2);
        data.writeLong(9);
        data.writeInt(0);
        data.writeInt(0);
        KvStateMachine fromV2 = new KvStateMachine();
        fromV2.restore(new ByteArrayInputStream(v2.toByteArray()));
        assertThat(started(fromV2)).isEmpty();
    }

    private static java.util.Map<String, Long> started(KvStateMachine machine) {
        return KvCommand.decodeStarted(KvCommand.decodeResult(machine.query(KvCommand.startedMembers())).value());
    }

    @Test
    void compareAndSetByRevision() {
        apply(1, KvCommand.put("k", bytes("v1"), Condition.NONE, 0));
        Result stale = apply(2, KvCommand.put("k", bytes("v2"), Condition.REVISION_IS, 5));
        assertThat(stale.outcome()).isEqualTo(Outcome.PRECONDITION_FAILED);
        assertThat(stale.revision()).isEqualTo(1);
        assertThat(apply(3, KvCommand.put("k", bytes("v3"), Condition.REVISION_IS, 1)).outcome()).isEqualTo(Outcome.OK);
        assertThat(get("k").value()).isEqualTo(bytes("v3"));
        assertThat(apply(4, KvCommand.put("k", bytes("v4"), Condition.ABSENT, 0)).outcome())
                .isEqualTo(Outcome.PRECONDITION_FAILED);
        assertThat(apply(5, KvCommand.put("new", bytes("n"), Condition.ABSENT, 0)).outcome()).isEqualTo(Outcome.OK);
        assertThat(apply(6, KvCommand.put("missing", bytes("m"), Condition.PRESENT, 0)).outcome())
                .isEqualTo(Outcome.PRECONDITION_FAILED);
        assertThat(apply(7, KvCommand.put("missing", bytes("m"), Condition.REVISION_IS, 1)).outcome())
                .isEqualTo(Outcome.PRECONDITION_FAILED);
    }

    @Test
    void deleteOfAnAbsentKeyIsNotFoundAndConditionalDeleteChecksTheRevision() {
        assertThat(apply(1, KvCommand.delete("nope", Condition.NONE, 0)).outcome()).isEqualTo(Outcome.NOT_FOUND);
        apply(2, KvCommand.put("k", bytes("v"), Condition.NONE, 0));
        assertThat(apply(3, KvCommand.delete("k", Condition.REVISION_IS, 1)).outcome())
                .isEqualTo(Outcome.PRECONDITION_FAILED);
        assertThat(apply(4, KvCommand.delete("k", Condition.REVISION_IS, 2)).outcome()).isEqualTo(Outcome.OK);
        assertThat(get("k").outcome()).isEqualTo(Outcome.NOT_FOUND);
    }

    @Test
    void aCommandThatDoesNotDecodeChangesNothingAndDoesNotThrow() {
        apply(1, KvCommand.put("k", bytes("v"), Condition.NONE, 0));
        assertThat(apply(2, new byte[] {9, 9, 9}).outcome()).isEqualTo(Outcome.MALFORMED);
        byte[] badKeyLength = KvCommand.put("k", bytes("v"), Condition.NONE, 0);
        badKeyLength[13] = 100;
        assertThat(apply(3, badKeyLength).outcome()).isEqualTo(Outcome.MALFORMED);
        assertThat(KvCommand.decodeResult(kv.query(new byte[] {1})).outcome()).isEqualTo(Outcome.MALFORMED);
        assertThat(get("k").revision()).isEqualTo(1);
    }

    @Test
    void sameCommandsGiveTheSameSnapshotAndARestoredCopyAnswersAlike() throws IOException {
        KvStateMachine other = new KvStateMachine();
        SplittableRandom random = new SplittableRandom(7);
        for (long index = 1; index <= 2_000; index++) {
            String key = "k" + random.nextInt(100);
            byte[] value = new byte[random.nextInt(50)];
            random.nextBytes(value);
            byte[] command = random.nextInt(4) == 0 ? KvCommand.delete(key, Condition.NONE, 0)
                    : KvCommand.put(key, value, Condition.NONE, 0);
            assertThat(kv.apply(index, command)).isEqualTo(other.apply(index, command));
        }
        byte[] one = snapshot(kv);
        assertThat(one).isEqualTo(snapshot(other));

        KvStateMachine restored = new KvStateMachine();
        restored.restore(new ByteArrayInputStream(one));
        assertThat(snapshot(restored)).isEqualTo(one);
        for (int i = 0; i < 100; i++) {
            byte[] q = KvCommand.get("k" + i);
            assertThat(restored.query(q)).isEqualTo(kv.query(q));
        }
    }

    @Test
    void writesAfterTheCaptureDoNotChangeTheCapturedSnapshot() throws IOException {
        for (long index = 1; index <= 1_000; index++) {
            kv.apply(index, KvCommand.put("k" + index, bytes("before"), Condition.NONE, 0));
        }
        byte[] expected = snapshot(kv);
        org.raftkit.StateMachine.Snapshot captured = kv.snapshot();
        // The apply thread goes on while the snapshot thread has not written the capture yet.
        for (long index = 1_001; index <= 2_000; index++) {
            String key = "k" + (index - 1_000);
            kv.apply(index, index % 2 == 0 ? KvCommand.delete(key, Condition.NONE, 0)
                    : KvCommand.put(key, bytes("after"), Condition.NONE, 0));
        }
        for (long index = 2_001; index <= 3_000; index++) {
            kv.apply(index, KvCommand.put("new" + index, bytes("after"), Condition.NONE, 0));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        captured.writeTo(out);
        assertThat(out.toByteArray()).isEqualTo(expected);

        KvStateMachine restored = new KvStateMachine();
        restored.restore(new ByteArrayInputStream(out.toByteArray()));
        assertThat(KvCommand.decodeResult(restored.query(KvCommand.get("k2"))).value()).isEqualTo(bytes("before"));
        assertThat(KvCommand.decodeResult(restored.query(KvCommand.get("k3"))).value()).isEqualTo(bytes("before"));
        assertThat(KvCommand.decodeResult(restored.query(KvCommand.get("new2001"))).outcome()).isEqualTo(Outcome.NOT_FOUND);
        assertThat(KvCommand.decodeResult(kv.query(KvCommand.get("k2"))).outcome()).isEqualTo(Outcome.NOT_FOUND);
        assertThat(KvCommand.decodeResult(kv.query(KvCommand.get("k3"))).value()).isEqualTo(bytes("after"));
    }

    @Test
    void aLargeMapRestoresWholeAndItsCopyWritesTheSameBytes() throws IOException {
        byte[] value = new byte[16];
        for (long index = 1; index <= 300_000; index++) {
            value[0] = (byte) index;
            kv.apply(index, KvCommand.put("key-" + index, value, Condition.NONE, 0));
        }
        byte[] one = snapshot(kv);
        KvStateMachine restored = new KvStateMachine();
        restored.apply(1, KvCommand.put("only-in-the-old-state", bytes("x"), Condition.NONE, 0));
        restored.restore(new ByteArrayInputStream(one));
        assertThat(restored.size()).isEqualTo(300_000);
        assertThat(KvCommand.decodeResult(restored.query(KvCommand.get("only-in-the-old-state"))).outcome())
                .isEqualTo(Outcome.NOT_FOUND);
        Result last = KvCommand.decodeResult(restored.query(KvCommand.get("key-300000")));
        assertThat(last.revision()).isEqualTo(300_000);
        assertThat(last.value()[0]).isEqualTo((byte) 300_000);
        assertThat(snapshot(restored)).isEqualTo(one);
    }

    @Test
    void aSnapshotEncodesEachFieldAsDataOutputDoesWhateverTheKeysCharacters() throws IOException {
        String key = "a\u0000\u00e9\u20ac\ud83d\ude00z"; // ASCII, NUL, 2-byte, 3-byte and a surrogate pair
        byte[] value = new byte[300_000]; // larger than the encoder's buffer
        value[299_999] = 7;
        kv.apply(5, KvCommand.put(key, value, Condition.NONE, 0));
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        java.io.DataOutputStream data = new java.io.DataOutputStream(expected);
        data.writeInt(3);
        data.writeLong(5);
        data.writeInt(1);
        data.writeUTF(key);
        data.writeLong(5);
        data.writeInt(value.length);
        data.write(value);
        data.writeInt(0); // no idempotency keys
        data.writeInt(0); // no members recorded as started
        assertThat(snapshot(kv)).isEqualTo(expected.toByteArray());

        KvStateMachine restored = new KvStateMachine();
        restored.restore(new ByteArrayInputStream(expected.toByteArray()));
        assertThat(KvCommand.decodeResult(restored.query(KvCommand.get(key))).value()).isEqualTo(value);
    }

    @Test
    void aTruncatedSnapshotIsRefused() throws IOException {
        kv.apply(1, KvCommand.put("k", bytes("value"), Condition.NONE, 0));
        byte[] snap = snapshot(kv);
        KvStateMachine restored = new KvStateMachine();
        assertThatThrownBy(() -> restored.restore(new ByteArrayInputStream(Arrays.copyOf(snap, snap.length - 2))))
                .isInstanceOf(IOException.class);
    }

    private static byte[] snapshot(KvStateMachine machine) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        machine.snapshot().writeTo(out);
        return out.toByteArray();
    }
}
