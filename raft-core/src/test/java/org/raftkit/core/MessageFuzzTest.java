package org.raftkit.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import com.code_intelligence.jazzer.junit.FuzzTest;

import org.raftkit.RaftConfig;
import org.raftkit.Role;
import org.raftkit.memory.MemoryLogStorage;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.HeartbeatReply;
import org.raftkit.message.RaftMessage;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.message.ReadIndexRequest;
import org.raftkit.message.RequestVote;
import org.raftkit.message.RequestVoteReply;
import org.raftkit.spi.TermVoteStore.TermAndVote;

/**
 * Fuzz target (docs/TESTING.md, "Fuzzing"): one real {@link RaftNode}, n1 of the voters n1, n2, n3,
 * on a {@link MemoryLogStorage} and driven by {@link Ready}'s contract, whose two peers are played
 * by the fuzzer. The input is a script (see {@link Script}): ticks, proposals, reads, answers a
 * correct peer would give to what n1 sent (so n1 gets elected, replicates and commits), and forged
 * messages of every type with terms and indexes near n1's own, at the validator's limits, or
 * anything at all, from a member, from a stranger, or misaddressed.
 *
 * <p>After every step it asserts what no input may break (issue 15: validation refuses what a
 * correct member would never send; nothing stops the node):
 * <ul>
 *   <li>nothing throws: not the node (a fail-stop would be a finding), not the driver;</li>
 *   <li>{@link RaftNode#checkInvariants()} holds;</li>
 *   <li>currentTerm and commitIndex never go down (so no term overflows);</li>
 *   <li>the saved vote never changes within a term;</li>
 *   <li>an entry n1 has committed never changes, and n1 applies each index once, in order, with
 *       the entry it committed there.</li>
 * </ul>
 * What the node must still accept from a member (a well-formed message that lies, see
 * {@link MessageValidator}) may change uncommitted entries and elect anyone; it never touches
 * the above. Seeds in {@code src/test/resources/org/raftkit/core/MessageFuzzTestInputs/}: n1
 * elected and committing, n1 following n2's AppendEntries, forged extreme terms.
 */
class MessageFuzzTest {

    private static final String SELF = "n1";
    private static final List<String> VOTERS = List.of("n1", "n2", "n3");
    /** Who a forged message claims to come from: both members, a stranger, and n1 itself. */
    private static final List<String> SENDERS = List.of("n2", "n3", "n9", "n1");

    @FuzzTest(maxDuration = "5m")
    void forgedMessagesNeverStopTheNodeNorChangeWhatItCommitted(byte[] input) {
        Script script = new Script(input);
        Driver n1 = new Driver(configFrom(script.nextByte()), script.nextByte());
        while (script.hasMore()) {
            switch (script.nextByte() % 6) {
                case 0 -> n1.tick(1 + script.nextByte() % 32);
                case 1 -> n1.propose(script.nextBytes(script.nextByte() % 8));
                case 2 -> n1.node.readIndex(script.nextByte());
                case 3, 4 -> n1.deliver(forged(script, n1.node));
                default -> n1.deliver(answer(script, n1));
            }
            n1.process();
        }
    }

    /** PreVote and CheckQuorum on or off, and sometimes small batches, so flow control is reached. */
    private static RaftConfig configFrom(int flags) {
        RaftConfig c = RaftConfig.defaults().withPreVote((flags & 1) != 0).withCheckQuorum((flags & 2) != 0);
        return (flags & 4) != 0 ? c.withMaxAppend(2, 1 << 10).withMaxInflight(1, 4 << 10) : c;
    }

    // ---------------------------------------------------------------------------------------------
    // What the peers send
    // ---------------------------------------------------------------------------------------------

    /** A message of any type with fields chosen by the script; most will be refused. */
    private static RaftMessage forged(Script s, RaftNode n1) {
        String from = SENDERS.get(s.nextByte() % SENDERS.size());
        String to = s.nextByte() % 8 == 0 ? "n2" : SELF;
        long term = s.number(n1.currentTerm());
        long last = n1.lastIndex();
        long commit = n1.commitIndex();
        return switch (s.nextByte() % 8) {
            case 0 -> new RequestVote(from, to, term, s.number(last), s.number(n1.lastTerm()), s.flag());
            case 1 -> new RequestVoteReply(from, to, term, s.flag(), s.flag());
            case 2 -> forgedAppendEntries(s, from, to, term, last, commit);
            case 3 -> new AppendEntriesReply(from, to, term, s.flag(), s.number(last), s.number(last),
                    s.number(n1.lastTerm()), s.number(last));
            case 4 -> new Heartbeat(from, to, term, s.number(commit), s.number(0));
            case 5 -> new HeartbeatReply(from, to, term, s.number(0));
            case 6 -> new ReadIndexRequest(from, to, term, s.number(0));
            default -> new ReadIndexReply(from, to, term, s.number(0), s.flag(), s.number(commit));
        };
    }

    private static AppendEntries forgedAppendEntries(Script s, String from, String to, long term, long last,
                                                     long commit) {
        long prevLogIndex = s.number(last);
        long prevLogTerm = s.number(term);
        int count = s.nextByte() % 5;
        List<Entry> entries = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            // Contiguous from prevLogIndex unless the script says otherwise; the Entry record
            // itself refuses index or term 0, as the codec does (MALFORMED_FRAME).
            long index = s.flag() ? s.number(prevLogIndex + 1 + i) : prevLogIndex + 1 + i;
            long entryTerm = s.number(term);
            if (index >= 1 && entryTerm >= 1) {
                entries.add(s.flag() ? Entry.noOp(index, entryTerm) : Entry.command(index, entryTerm,
                        s.nextBytes(s.nextByte() % 4)));
            }
        }
        return new AppendEntries(from, to, term, prevLogIndex, prevLogTerm, entries, s.number(commit));
    }

    /**
     * What a correct peer would answer to the oldest message n1 sent that is still unanswered:
     * votes, acknowledgements of exactly what was sent, heartbeat replies, ReadIndex answers. One
     * script byte says yes (odd) or no; for AppendEntries, a multiple of 4 is a rejection. None if
     * n1 sent nothing that needs an answer.
     */
    private static RaftMessage answer(Script s, Driver n1) {
        int choice = s.nextByte();
        boolean yes = choice % 2 == 1;
        RaftMessage m = n1.outbox.pollFirst();
        if (m == null) {
            return null;
        }
        String peer = m.to();
        if (m instanceof RequestVote rv) {
            return new RequestVoteReply(peer, SELF, rv.term(), yes, rv.preVote());
        }
        if (m instanceof AppendEntries ae) {
            long match = ae.entries().isEmpty() ? ae.prevLogIndex() : ae.entries().get(ae.entries().size() - 1).index();
            return choice % 4 != 0
                    ? new AppendEntriesReply(peer, SELF, ae.term(), true, ae.prevLogIndex(), match, 0, 0)
                    : new AppendEntriesReply(peer, SELF, ae.term(), false, ae.prevLogIndex(), 0, 0,
                            Math.max(1, ae.prevLogIndex()));
        }
        if (m instanceof Heartbeat hb) {
            return new HeartbeatReply(peer, SELF, hb.term(), hb.readRound());
        }
        if (m instanceof ReadIndexRequest r) {
            return new ReadIndexReply(peer, SELF, r.term(), r.requestId(), yes, n1.node.commitIndex());
        }
        return null; // replies n1 sent as a follower need no answer
    }

    // ---------------------------------------------------------------------------------------------
    // The driver and the checks
    // ---------------------------------------------------------------------------------------------

    /** Drives n1 as {@link Ready}'s Javadoc says, and checks it after every input. */
    private static final class Driver {
        final RaftNode node;
        final MemoryLogStorage storage = new MemoryLogStorage();
        /** Messages n1 sent and no peer has answered yet, oldest first (bounded: a peer may lose them). */
        final ArrayDeque<RaftMessage> outbox = new ArrayDeque<>();

        private TermAndVote saved = new TermAndVote(0, null);
        /** Every entry n1 ever counted as committed, by index - 1. */
        private final List<Entry> committed = new ArrayList<>();
        private long appliedIndex;
        private long highestTerm;

        Driver(RaftConfig config, long seed) {
            node = new RaftNode(SELF, VOTERS, config, storage, saved, new SplittableRandom(seed));
        }

        void tick(int ticks) {
            for (int i = 0; i < ticks; i++) {
                node.tick();
                process();
            }
        }

        void propose(byte[] command) {
            node.propose(command);
        }

        void deliver(RaftMessage m) {
            if (m != null) {
                node.step(m);
            }
        }

        /** Drains every Ready: send, persist then send what waited for it, apply; then checks. */
        void process() {
            for (Ready r = node.ready(); !r.isEmpty(); r = node.ready()) {
                send(r.messages());
                if (r.termAndVote() != null) {
                    checkSavedVote(r.termAndVote());
                    saved = r.termAndVote();
                }
                if (!r.entriesToPersist().isEmpty()) {
                    storage.truncateSuffix(r.entriesToPersist().get(0).index());
                    storage.append(r.entriesToPersist());
                }
                send(r.messagesAfterPersist());
                if (!r.entriesToPersist().isEmpty()) {
                    Entry last = r.entriesToPersist().get(r.entriesToPersist().size() - 1);
                    node.onPersisted(last.index(), last.term());
                }
                for (Entry e : r.committedEntries()) {
                    apply(e);
                }
                if (!r.committedEntries().isEmpty()) {
                    node.onApplied(appliedIndex);
                }
                check();
            }
            check();
        }

        private void send(List<RaftMessage> messages) {
            outbox.addAll(messages);
            while (outbox.size() > 64) {
                outbox.pollFirst();
            }
        }

        private void apply(Entry e) {
            assertThat(e.index()).as("index applied after %s", appliedIndex).isEqualTo(appliedIndex + 1);
            assertThat(e.index()).as("applied index vs commitIndex").isLessThanOrEqualTo(node.commitIndex());
            appliedIndex = e.index();
            recordCommitted();
            assertThat(e).as("entry applied at %s", e.index()).isEqualTo(committed.get((int) e.index() - 1));
        }

        private void checkSavedVote(TermAndVote next) {
            assertThat(next.currentTerm()).as("saved term").isGreaterThanOrEqualTo(saved.currentTerm());
            if (next.currentTerm() == saved.currentTerm() && saved.votedFor() != null) {
                assertThat(next.votedFor()).as("vote saved in term %s", saved.currentTerm()).isEqualTo(saved.votedFor());
            }
        }

        private void check() {
            node.checkInvariants();
            // Going down would also be what an overflow looks like. (Only n1's own campaigns may pass
            // MAX_TERM; see TermCeilingTest for what a term at MAX_TERM does to a cluster.)
            assertThat(node.currentTerm()).as("currentTerm").isGreaterThanOrEqualTo(highestTerm);
            highestTerm = node.currentTerm();
            assertThat(node.commitIndex()).as("commitIndex").isGreaterThanOrEqualTo(committed.size());
            for (int i = 0; i < committed.size(); i++) {
                assertThat(node.termAt(i + 1)).as("term of committed entry %s", i + 1)
                        .isEqualTo(committed.get(i).term());
            }
            recordCommitted();
            if (node.role() == Role.LEADER) {
                assertThat(node.leaderId()).isEqualTo(SELF);
            }
        }

        /** Remembers the entries up to commitIndex that it has not seen committed before. */
        private void recordCommitted() {
            long from = committed.size() + 1;
            if (node.commitIndex() >= from) {
                List<Entry> newly = node.entries(from, node.commitIndex() + 1);
                assertThat(newly).as("committed entries %s..%s", from, node.commitIndex())
                        .hasSize((int) (node.commitIndex() - from + 1));
                committed.addAll(newly);
            }
        }
    }

    /**
     * The fuzzer's input read front to back as a script; past its end every read is 0. Numbers are
     * a selector byte, then for one selector eight raw bytes: mostly near a base the caller gives
     * (n1's term, last index, commit index), else at the validator's limits.
     */
    static final class Script {
        private final byte[] bytes;
        private int at;

        Script(byte[] bytes) {
            this.bytes = bytes;
        }

        boolean hasMore() {
            return at < bytes.length;
        }

        int nextByte() {
            return at < bytes.length ? bytes[at++] & 0xFF : 0;
        }

        boolean flag() {
            return (nextByte() & 1) != 0;
        }

        byte[] nextBytes(int n) {
            byte[] b = new byte[n];
            for (int i = 0; i < n; i++) {
                b[i] = (byte) nextByte();
            }
            return b;
        }

        long number(long base) {
            return switch (nextByte() % 10) {
                case 0 -> base;
                case 1 -> base + 1;
                case 2 -> base - 1;
                case 3 -> base + 2;
                case 4 -> 0;
                case 5 -> MessageValidator.MAX_TERM;
                case 6 -> MessageValidator.MAX_TERM + 1;
                case 7 -> Long.MAX_VALUE;
                case 8 -> -1;
                default -> {
                    long v = 0;
                    for (int i = 0; i < 8; i++) {
                        v = v << 8 | nextByte();
                    }
                    yield v;
                }
            };
        }
    }
}
