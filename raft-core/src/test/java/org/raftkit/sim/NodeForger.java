package org.raftkit.sim;

import static org.raftkit.sim.Simulation.MILLIS;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.raftkit.RaftServerAccess;
import org.raftkit.Role;
import org.raftkit.core.RaftNode;
import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.ClientReply;
import org.raftkit.message.Entry;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.HeartbeatReply;
import org.raftkit.message.Message;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.message.RequestVote;
import org.raftkit.runtime.RuntimeAccess;
import org.raftkit.sim.NodeCluster.Member;
import org.raftkit.sim.SimContext.Event;

/**
 * The whole-node simulator's Byzantine-input mode: now and then a message no correct member would
 * send arrives at a node, spoofing a member's id, as an attacker on an unauthenticated network or
 * a buggy member would send it. Every one is of a kind the core's validation must refuse (a term
 * that would overflow, entries with gaps or with terms above the message's, a rewrite of committed
 * entries, an acknowledgement of entries never sent, a read confirmation nobody asked for, an answer
 * to a call never forwarded). The usual checks then show that no invariant breaks, no node stops,
 * and the history stays linearizable.
 *
 * <p>A well-formed message from a spoofed leader at a new term is not sent: without authentication
 * nothing can tell it from the real thing, which is what mutual TLS is for.
 */
final class NodeForger {

    private final SimContext ctx;
    private final SplittableRandom random;
    private final NodeCluster cluster;
    private final NodeNetwork network;
    private boolean over;
    long forged;

    NodeForger(SimContext ctx, NodeCluster cluster, NodeNetwork network) {
        this.ctx = ctx;
        this.random = ctx.random;
        this.cluster = cluster;
        this.network = network;
    }

    void start() {
        ctx.note("Byzantine input on");
        ctx.schedule(ctx.now() + random.nextLong(200 * MILLIS), new NextForgery());
    }

    void stop() {
        over = true;
    }

    private void forgeOne() {
        List<Member> up = new ArrayList<>();
        for (Member m : cluster.members()) {
            if (m.isUp()) {
                up.add(m);
            }
        }
        if (up.isEmpty()) {
            return;
        }
        Member target = up.get(random.nextInt(up.size()));
        RaftNode core = RuntimeAccess.core(RaftServerAccess.runtime(target.server));
        String to = target.id;
        String spoofed = other(to);
        long term = core.currentTerm();
        long commit = core.commitIndex();
        long last = core.lastIndex();
        String leader = core.leaderId();
        Message m = switch (random.nextInt(9)) {
            case 0 -> new Heartbeat(spoofed, to, Long.MAX_VALUE, Long.MAX_VALUE, 0);
            case 1 -> new RequestVote(spoofed, to, Long.MAX_VALUE - random.nextInt(2), last + 1_000, Long.MAX_VALUE - 1,
                    random.nextBoolean());
            case 2 -> new AppendEntries(spoofed, to, term + 1, commit, termAt(core, commit),
                    List.of(Entry.command(commit + 1, term + 1, new byte[1]), Entry.command(commit + 3, term + 1,
                            new byte[1])), Long.MAX_VALUE / 4);
            case 3 -> new AppendEntries(spoofed, to, term, commit, termAt(core, commit),
                    List.of(Entry.command(commit + 1, term + 5, new byte[1])), commit + 1);
            case 4 -> rewriteOfCommitted(core, to, leader);
            // Beyond any log a run can reach: an acknowledgement a few hundred entries ahead became
            // a valid one when it reached a leader paused during a flood, whose queued proposals
            // grew its log past it first (long-run seed 76378). A valid acknowledgement in a
            // member's name is what only authentication (mutual TLS) can refuse.
            case 5 -> core.role() == Role.LEADER
                    ? AppendEntriesReply.success(spoofed, to, term, last + 1_000_000_000L, last + 1_000_000_500L) : null;
            case 6 -> core.role() == Role.LEADER ? new HeartbeatReply(spoofed, to, term, Long.MAX_VALUE / 8) : null;
            case 7 -> new ReadIndexReply(otherThan(to, leader), to, term, random.nextLong(), true, 0);
            default -> new ClientReply(leader != null ? leader : spoofed, to, random.nextLong(), ClientReply.Status.OK,
                    new byte[] {'f', 'o', 'r', 'g', 'e', 'd'}, null, null);
        };
        if (m != null) {
            forged++;
            network.forge(m, random.nextLong(1_000));
        }
    }

    /**
     * AppendEntries in the leader's name and term that replaces a committed entry with one of
     * another term; null when the target's log leaves no such entry to forge.
     */
    private AppendEntries rewriteOfCommitted(RaftNode core, String to, String leader) {
        long commit = core.commitIndex();
        if (leader == null || leader.equals(to) || commit < 2) {
            return null;
        }
        long at = 1 + random.nextLong(commit);
        long prevTerm = termAt(core, at - 1);
        long committedTerm = termAt(core, at);
        long term = core.currentTerm();
        long forgedTerm = committedTerm < term ? term : prevTerm;
        if (forgedTerm < 1 || forgedTerm == committedTerm || forgedTerm < prevTerm) {
            return null;
        }
        return new AppendEntries(leader, to, term, at - 1, prevTerm, List.of(Entry.command(at, forgedTerm, new byte[1])),
                0);
    }

    private static long termAt(RaftNode core, long index) {
        long t = core.termAt(index);
        return Math.max(0, t);
    }

    private String other(String not) {
        List<String> ids = cluster.ids();
        String id;
        do {
            id = ids.get(random.nextInt(ids.size()));
        } while (id.equals(not));
        return id;
    }

    private String otherThan(String a, String b) {
        for (String id : cluster.ids()) {
            if (!id.equals(a) && !id.equals(b)) {
                return id;
            }
        }
        return other(a);
    }

    private final class NextForgery extends Event {
        @Override
        void run() {
            if (over) {
                return;
            }
            forgeOne();
            ctx.schedule(ctx.now() + 20 * MILLIS + random.nextLong(200 * MILLIS), this);
        }
    }
}
