package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.raftkit.core.MessageValidator.Reason;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.Entry;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.HeartbeatReply;
import org.raftkit.message.RaftMessage;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.message.ReadIndexRequest;
import org.raftkit.message.RequestVote;
import org.raftkit.message.RequestVoteReply;

/** Table tests of {@link MessageValidator}: each row a message and the reason it is refused, or null. */
class MessageValidatorTest {

    private static final long MAX = MessageValidator.MAX_TERM;

    private static Entry e(long index, long term) {
        return Entry.command(index, term, new byte[] {1});
    }

    private static AppendEntries ae(long term, long prevLogIndex, long prevLogTerm, List<Entry> entries, long commit) {
        return new AppendEntries("a", "b", term, prevLogIndex, prevLogTerm, entries, commit);
    }

    static Stream<Arguments> messages() {
        return Stream.of(
                // Terms: 0 .. MAX_TERM, so term + 1 never overflows.
                Arguments.of(new Heartbeat("a", "b", 5, 3, 1), null),
                Arguments.of(new Heartbeat("a", "b", MAX, 3, 1), null),
                Arguments.of(new Heartbeat("a", "b", MAX + 1, 3, 1), Reason.TERM_OUT_OF_RANGE),
                Arguments.of(new Heartbeat("a", "b", Long.MAX_VALUE, 3, 1), Reason.TERM_OUT_OF_RANGE),
                Arguments.of(new Heartbeat("a", "b", -1, 3, 1), Reason.TERM_OUT_OF_RANGE),
                Arguments.of(new Heartbeat("a", "b", 5, -1, 1), Reason.INDEX_OUT_OF_RANGE),
                Arguments.of(new Heartbeat("a", "b", 5, MessageValidator.MAX_INDEX + 1, 1), Reason.INDEX_OUT_OF_RANGE),
                Arguments.of(new Heartbeat("a", "b", 5, 3, -1), Reason.INDEX_OUT_OF_RANGE),
                Arguments.of(new HeartbeatReply("a", "b", 5, -2), Reason.INDEX_OUT_OF_RANGE),
                Arguments.of(new RequestVoteReply("a", "b", Long.MIN_VALUE, true, false), Reason.TERM_OUT_OF_RANGE),
                Arguments.of(new ReadIndexRequest("a", "b", 5, 9), null),
                Arguments.of(new ReadIndexReply("a", "b", 5, 9, true, -4), Reason.INDEX_OUT_OF_RANGE),
                // RequestVote: a candidate's last log term is at most its term.
                Arguments.of(new RequestVote("a", "b", 5, 10, 5, false), null),
                Arguments.of(new RequestVote("a", "b", 5, 10, 6, true), Reason.LOG_TERM_ABOVE_MESSAGE_TERM),
                Arguments.of(new RequestVote("a", "b", 5, -1, 1, false), Reason.INDEX_OUT_OF_RANGE),
                Arguments.of(new RequestVote("a", "b", 5, 1, -1, false), Reason.TERM_OUT_OF_RANGE),
                // AppendEntries: a slice of a leader's log.
                Arguments.of(ae(3, 0, 0, List.of(), 0), null),
                Arguments.of(ae(3, 4, 2, List.of(e(5, 2), e(6, 3), e(7, 3)), 5), null),
                Arguments.of(ae(3, 4, 2, List.of(e(6, 3)), 0), Reason.ENTRIES_NOT_CONTIGUOUS),
                Arguments.of(ae(3, 4, 2, List.of(e(5, 3), e(5, 3)), 0), Reason.ENTRIES_NOT_CONTIGUOUS),
                Arguments.of(ae(3, 4, 2, List.of(e(5, 3), e(7, 3)), 0), Reason.ENTRIES_NOT_CONTIGUOUS),
                Arguments.of(ae(3, 4, 2, List.of(e(5, 4)), 0), Reason.LOG_TERM_ABOVE_MESSAGE_TERM),
                Arguments.of(ae(3, 4, 4, List.of(), 0), Reason.LOG_TERM_ABOVE_MESSAGE_TERM),
                Arguments.of(ae(3, 4, 2, List.of(e(5, 3), e(6, 2)), 0), Reason.ENTRY_TERMS_DECREASE),
                Arguments.of(ae(3, 4, 3, List.of(e(5, 2)), 0), Reason.ENTRY_TERMS_DECREASE),
                Arguments.of(ae(3, -1, 0, List.of(), 0), Reason.INDEX_OUT_OF_RANGE),
                Arguments.of(ae(3, 4, -2, List.of(), 0), Reason.TERM_OUT_OF_RANGE),
                Arguments.of(ae(3, 4, 2, List.of(), -7), Reason.INDEX_OUT_OF_RANGE),
                Arguments.of(ae(3, MessageValidator.MAX_INDEX, 2, List.of(e(MessageValidator.MAX_INDEX + 1, 3)), 0),
                        Reason.INDEX_OUT_OF_RANGE),
                Arguments.of(ae(MAX + 1, 4, 2, List.of(), 0), Reason.TERM_OUT_OF_RANGE),
                // AppendEntriesReply: self-consistent.
                Arguments.of(AppendEntriesReply.success("a", "b", 3, 4, 9), null),
                Arguments.of(AppendEntriesReply.success("a", "b", 3, 4, 3), Reason.MALFORMED_REPLY),
                Arguments.of(AppendEntriesReply.success("a", "b", 3, 4, -1), Reason.INDEX_OUT_OF_RANGE),
                Arguments.of(AppendEntriesReply.reject("a", "b", 3, 9, 0, 5), null),
                Arguments.of(AppendEntriesReply.reject("a", "b", 3, 9, 2, 9), null),
                Arguments.of(AppendEntriesReply.reject("a", "b", 3, 9, 2, 10), Reason.MALFORMED_REPLY),
                Arguments.of(AppendEntriesReply.reject("a", "b", 3, 0, 0, 0), Reason.MALFORMED_REPLY),
                Arguments.of(AppendEntriesReply.reject("a", "b", 3, 9, 4, 5), Reason.TERM_OUT_OF_RANGE),
                Arguments.of(AppendEntriesReply.reject("a", "b", 3, 9, -1, 5), Reason.TERM_OUT_OF_RANGE),
                Arguments.of(AppendEntriesReply.reject("a", "b", 3, -9, 0, 5), Reason.INDEX_OUT_OF_RANGE));
    }

    @ParameterizedTest
    @MethodSource("messages")
    void checksMessagesOnTheirOwn(RaftMessage m, Reason expected) {
        assertThat(MessageValidator.check(m)).as("%s", m).isEqualTo(expected);
    }

    /** A log of terms 1, 1, 2, 2, 3 with index 3 committed. */
    private static RaftLog logCommittedTo3() {
        MemoryLogStorage storage = new MemoryLogStorage();
        storage.append(List.of(e(1, 1), e(2, 1), e(3, 2), e(4, 2), e(5, 3)));
        RaftLog log = new RaftLog(storage, 0, 0, Configuration.EMPTY);
        log.commitTo(3);
        return log;
    }

    static Stream<Arguments> againstCommitted() {
        return Stream.of(
                Arguments.of(ae(4, 5, 3, List.of(e(6, 4)), 0), null), // beyond commit: rule 2 decides
                Arguments.of(ae(4, 3, 2, List.of(e(4, 4)), 0), null), // replaces uncommitted 4: allowed
                Arguments.of(ae(4, 1, 1, List.of(e(2, 1), e(3, 2), e(4, 4)), 0), null),
                Arguments.of(ae(4, 0, 0, List.of(e(1, 1), e(2, 1), e(3, 2)), 0), null),
                Arguments.of(ae(4, 2, 2, List.of(), 0), Reason.CONFLICTS_WITH_COMMITTED_ENTRY), // prevLogTerm
                Arguments.of(ae(4, 3, 3, List.of(e(4, 4)), 0), Reason.CONFLICTS_WITH_COMMITTED_ENTRY),
                Arguments.of(ae(4, 1, 1, List.of(e(2, 4)), 0), Reason.CONFLICTS_WITH_COMMITTED_ENTRY),
                Arguments.of(ae(4, 1, 1, List.of(e(2, 1), e(3, 4), e(4, 4)), 0), Reason.CONFLICTS_WITH_COMMITTED_ENTRY));
    }

    @ParameterizedTest
    @MethodSource("againstCommitted")
    void refusesAppendEntriesThatDisagreeWithCommittedEntries(AppendEntries m, Reason expected) {
        assertThat(MessageValidator.checkAgainstCommitted(m, logCommittedTo3())).as("%s", m).isEqualTo(expected);
    }

    static Stream<Arguments> againstLeaderLog() {
        return Stream.of(
                Arguments.of(AppendEntriesReply.success("a", "b", 3, 4, 10), null),
                Arguments.of(AppendEntriesReply.success("a", "b", 3, 4, 11), Reason.REPLY_BEYOND_LEADER_LOG),
                Arguments.of(AppendEntriesReply.reject("a", "b", 3, 10, 0, 5), null),
                Arguments.of(AppendEntriesReply.reject("a", "b", 3, 11, 0, 5), Reason.REPLY_BEYOND_LEADER_LOG));
    }

    @ParameterizedTest
    @MethodSource("againstLeaderLog")
    void refusesRepliesAboutIndexesPastTheLeadersLog(AppendEntriesReply r, Reason expected) {
        assertThat(MessageValidator.checkAgainstLeaderLog(r, 10)).as("%s", r).isEqualTo(expected);
    }

    @Test
    void configurationEntriesMustDecodeAndNameAVoter() {
        byte[] good = Configuration.ofVoters(List.of("n1", "n2")).encode();
        byte[] noVoter = Configuration.of(List.of(Configuration.Member.learner("n1", ""))).encode();
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 1);
        assertThat(MessageValidator.check(ae(2, 0, 0, List.of(Entry.configuration(1, 2, good)), 0))).isNull();
        for (byte[] bad : List.of(noVoter, truncated, new byte[0])) {
            assertThat(MessageValidator.check(ae(2, 0, 0, List.of(Entry.configuration(1, 2, bad)), 0)))
                    .isEqualTo(Reason.MALFORMED_CONFIGURATION);
        }
    }

    @Test
    void timeoutNowOnlyFromTheLeader() {
        org.raftkit.message.TimeoutNow t = new org.raftkit.message.TimeoutNow("a", "b", 3);
        assertThat(MessageValidator.check(t)).isNull();
        assertThat(MessageValidator.checkTimeoutNow(t, "a")).isNull();
        assertThat(MessageValidator.checkTimeoutNow(t, "c")).isEqualTo(Reason.TIMEOUT_NOW_NOT_FROM_LEADER);
        assertThat(MessageValidator.checkTimeoutNow(t, null)).isEqualTo(Reason.TIMEOUT_NOW_NOT_FROM_LEADER);
    }

    @Test
    void readRoundsAndReadAnswers() {
        assertThat(MessageValidator.checkReadRound(new HeartbeatReply("a", "b", 3, 7), 7)).isNull();
        assertThat(MessageValidator.checkReadRound(new HeartbeatReply("a", "b", 3, 8), 7))
                .isEqualTo(Reason.READ_ROUND_NOT_STARTED);
        ReadIndexReply r = new ReadIndexReply("a", "b", 3, 1, true, 5);
        assertThat(MessageValidator.checkReadIndexReply(r, "a")).isNull();
        assertThat(MessageValidator.checkReadIndexReply(r, "c")).isEqualTo(Reason.READ_REPLY_NOT_FROM_LEADER);
        assertThat(MessageValidator.checkReadIndexReply(r, null)).isEqualTo(Reason.READ_REPLY_NOT_FROM_LEADER);
    }
}
