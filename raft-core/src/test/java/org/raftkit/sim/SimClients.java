package org.raftkit.sim;

import static org.raftkit.sim.Simulation.MILLIS;
import static org.raftkit.sim.Simulation.SECONDS;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.raftkit.core.RaftNode;
import org.raftkit.sim.SimCluster.SimNode;
import org.raftkit.sim.SimContext.Event;
import org.raftkit.sim.lin.OpKind;
import org.raftkit.sim.lin.Operation;
import org.raftkit.sim.lin.Outcome;

/**
 * The simulated clients and the history of what they saw. Each client runs one operation at a
 * time (write, read or compare-and-set on a few keys) against the node it believes leads, and
 * records its outcome for the linearizability check: OK and FAILED with the time the answer came,
 * UNKNOWN (timed out, or the node crashed) as never finished.
 */
final class SimClients {

    static final long CLIENT_TIMEOUT = 2 * SECONDS;

    private final SimContext ctx;
    private final SplittableRandom random;
    private final SimCluster cluster;
    private final int clientCount;
    private final int keyCount;
    private final List<Operation> history = new ArrayList<>();
    private long nextOpId;
    private boolean clientsStopped;
    private boolean faultsOver;
    private long okAfterHeal;
    private long okOps;

    SimClients(SimContext ctx, SimCluster cluster, int clientCount, int keyCount) {
        this.ctx = ctx;
        this.random = ctx.random;
        this.cluster = cluster;
        this.clientCount = clientCount;
        this.keyCount = keyCount;
    }

    /** Starts every client, each after a short random delay. */
    void start() {
        for (int c = 0; c < clientCount; c++) {
            ctx.schedule(random.nextLong(50 * MILLIS), new ClientStart(c));
        }
    }

    /** From now on operations that succeed count as progress after the heal. */
    void faultsOver() {
        faultsOver = true;
    }

    /** Clients start no new operation; those under way still finish. */
    void stop() {
        clientsStopped = true;
    }

    List<Operation> history() {
        return history;
    }

    long okOperations() {
        return okOps;
    }

    long okAfterHeal() {
        return okAfterHeal;
    }

    final class ClientOp {
        final int client;
        final long id;
        final OpKind kind;
        final String key;
        final String value;
        final String expected;
        final long invokeTime;
        long term;
        long readIndex;
        boolean done;

        ClientOp(int client, OpKind kind, String key, String value, String expected) {
            this.client = client;
            this.id = nextOpId++;
            this.kind = kind;
            this.key = key;
            this.value = value;
            this.expected = expected;
            this.invokeTime = ctx.now();
        }
    }

    private final Map<Integer, String> preferredNode = new HashMap<>();

    private void startClientOp(int client) {
        if (clientsStopped) {
            return;
        }
        String key = "k" + random.nextInt(keyCount);
        int dice = random.nextInt(10);
        ClientOp op;
        if (dice < 4) {
            op = new ClientOp(client, OpKind.WRITE, key, "v" + nextOpId, null);
        } else if (dice < 7) {
            op = new ClientOp(client, OpKind.READ, key, null, null);
        } else {
            String expected = random.nextInt(3) == 0 ? null : "v" + random.nextLong(Math.max(1, nextOpId));
            op = new ClientOp(client, OpKind.CAS, key, "v" + nextOpId, expected);
        }
        String target = preferredNode.get(client);
        List<String> ids = cluster.ids();
        if (target == null || (op.kind == OpKind.READ && random.nextInt(3) == 0)) {
            target = ids.get(random.nextInt(ids.size()));
        }
        SimNode n = cluster.node(target);
        if (n.core == null || n.paused) { // down, or retired
            preferredNode.remove(client);
            complete(op, Outcome.FAILED, null); // connection refused: the request never arrived
            return;
        }
        ctx.schedule(ctx.now() + CLIENT_TIMEOUT, new ClientTimeout(op, n));
        if (op.kind == OpKind.READ) {
            if (n.core.readIndex(op.id) != RaftNode.ReadAccepted.ACCEPTED) {
                redirect(client, n);
                complete(op, Outcome.FAILED, null);
                return;
            }
            n.pendingReads.put(op.id, op);
        } else {
            byte[] command = op.kind == OpKind.WRITE ? SimKv.write(key, op.value)
                    : SimKv.compareAndSet(key, op.expected, op.value);
            long index = n.core.propose(command);
            if (index == RaftNode.NOT_LEADER || index == RaftNode.TRANSFERRING_LEADERSHIP) {
                redirect(client, n);
                complete(op, Outcome.FAILED, null);
                return;
            }
            op.term = n.core.currentTerm();
            n.pendingWrites.put(index, op);
        }
        cluster.afterInput(n);
    }

    private void redirect(int client, SimNode n) {
        String leader = n.core.leaderId();
        if (leader != null) {
            preferredNode.put(client, leader);
        } else {
            preferredNode.remove(client);
        }
    }

    void complete(ClientOp op, Outcome outcome, String result) {
        if (op.done) {
            return;
        }
        op.done = true;
        Operation recorded;
        long end = outcome == Outcome.UNKNOWN ? Operation.NEVER : ctx.now();
        switch (op.kind) {
            case READ:
                recorded = new Operation(op.client, op.id, OpKind.READ, op.key, null, null, result, false, op.invokeTime,
                        end, outcome);
                break;
            case WRITE:
                recorded = new Operation(op.client, op.id, OpKind.WRITE, op.key, op.value, null, null, false,
                        op.invokeTime, end, outcome);
                break;
            default:
                recorded = new Operation(op.client, op.id, OpKind.CAS, op.key, op.value, op.expected, null,
                        "true".equals(result), op.invokeTime, end, outcome);
        }
        history.add(recorded);
        if (outcome == Outcome.OK) {
            okOps++;
            if (faultsOver) {
                okAfterHeal++;
            }
        }
        // A refused client backs off before trying again, as a real one would.
        long pause = outcome == Outcome.OK ? random.nextLong(3 * MILLIS) : 10 * MILLIS + random.nextLong(50 * MILLIS);
        ctx.schedule(ctx.now() + pause, new ClientStart(op.client));
    }

    // ---------------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------------

    private final class ClientStart extends Event {
        private final int client;

        ClientStart(int client) {
            this.client = client;
        }

        @Override
        void run() {
            startClientOp(client);
        }
    }

    private final class ClientTimeout extends Event {
        private final ClientOp op;
        private final SimNode n;

        ClientTimeout(ClientOp op, SimNode n) {
            this.op = op;
            this.n = n;
        }

        @Override
        void run() {
            if (!op.done) {
                n.pendingWrites.values().remove(op);
                n.pendingReads.values().remove(op);
                n.readsAwaitingApply.remove(op);
                complete(op, Outcome.UNKNOWN, null);
            }
        }
    }
}
