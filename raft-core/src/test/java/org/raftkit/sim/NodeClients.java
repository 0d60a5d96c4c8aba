package org.raftkit.sim;

import static org.raftkit.sim.Simulation.MILLIS;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.raftkit.CommandTooLargeException;
import org.raftkit.NotLeaderException;
import org.raftkit.RaftServer;
import org.raftkit.ReadTimeoutException;
import org.raftkit.ServerBusyException;
import org.raftkit.SessionExpiredException;
import org.raftkit.ServerClosedException;
import org.raftkit.UnknownOutcomeException;
import org.raftkit.sim.SimContext.Event;
import org.raftkit.sim.lin.OpKind;
import org.raftkit.sim.lin.Operation;
import org.raftkit.sim.lin.Outcome;

/**
 * The whole-node simulation's clients: each calls {@code submit}, {@code read} or
 * {@code staleRead} on a {@link RaftServer} of its choice, one call at a time, and records what it
 * saw for the linearizability check. A client gives up on a call after its own timeout, sometimes
 * shorter than the server's, and goes on with a new call, as impatient users do.
 *
 * <p>Every completed write is checked on the spot: its result must be its own command's, applied at
 * the index the result names (a future completed with another call's result is how a reply matched
 * to the wrong call shows). Now and then a client sends a command over {@code maxCommandBytes},
 * which must be refused at once.
 */
final class NodeClients {

    private final SimContext ctx;
    private final SplittableRandom random;
    private final NodeCluster cluster;
    private final int clientCount;
    private final int keyCount;
    private final long requestTimeoutMicros;
    private final List<Operation> history = new ArrayList<>();
    /** Calls started and not finished, in start order. */
    private final java.util.LinkedHashSet<Call> inFlight = new java.util.LinkedHashSet<>();
    private long nextOpId;
    private boolean stopped;
    private boolean faultsOver;
    private long okOps;
    private long okAfterHeal;
    private long highestAcknowledgedIndex;
    /** A check that failed inside a future's callback, thrown from the next client event. */
    private String violation;
    /**
     * The nodes a client may call (null: all of {@code cluster.ids()}); a simulation whose membership
     * changes points clients at the members. Draws the same as the default for the same list.
     */
    java.util.function.Supplier<List<String>> targets;

    /**
     * Clients write through sessions of their own ({@code RaftServer.openSession}), and send a write
     * whose outcome they did not learn again, with the same number, through a fresh handle on a
     * random node (as an application would after a restart), until it is answered: each write then
     * takes effect exactly once, which the cluster's "no command applied at two indexes" check and
     * the linearizability check verify. Off by default, so that other runs draw as before.
     */
    boolean appSessions;
    /** Most attempts of one write in {@link #appSessions} mode before it is left as unknown. */
    private static final int MAX_ATTEMPTS = 30;
    /** {@link #appSessions}: each client's session id (0: none yet) and its next write's number. */
    private final java.util.Map<Integer, long[]> sessions = new java.util.HashMap<>();
    /** Writes sent again with their session number, and writes answered after more than one attempt. */
    private long resent;
    private long answeredAfterResend;

    NodeClients(SimContext ctx, NodeCluster cluster, int clientCount, int keyCount) {
        this.ctx = ctx;
        this.random = ctx.random;
        this.cluster = cluster;
        this.clientCount = clientCount;
        this.keyCount = keyCount;
        this.requestTimeoutMicros = cluster.config().requestTimeoutMillis() * MILLIS;
    }

    void start() {
        for (int c = 0; c < clientCount; c++) {
            ctx.schedule(random.nextLong(50 * MILLIS), new ClientStart(c));
        }
    }

    void faultsOver() {
        faultsOver = true;
    }

    void stop() {
        stopped = true;
    }

    /**
     * The history, once every call still open is closed: a write as UNKNOWN (it may yet take
     * effect, say if its node crashed after forwarding it), a read as FAILED (it had no effect).
     */
    List<Operation> history() {
        for (Call call : new ArrayList<>(inFlight)) {
            finish(call, call.kind == OpKind.READ ? Outcome.FAILED : Outcome.UNKNOWN, null, false);
        }
        return history;
    }

    long okOperations() {
        return okOps;
    }

    long okAfterHeal() {
        return okAfterHeal;
    }

    long highestAcknowledgedIndex() {
        return highestAcknowledgedIndex;
    }

    /**
     * The node crashed: a real client's connection to it breaks at once, so every call in flight
     * to that incarnation ends now, a write as unknown, a read as failed.
     */
    void onCrash(NodeCluster.Member m, int incarnation) {
        for (Call call : new ArrayList<>(inFlight)) {
            if (call.target == m && call.incarnation == incarnation && !resendLater(call, call.attempts)) {
                finish(call, call.kind == OpKind.READ ? Outcome.FAILED : Outcome.UNKNOWN, null);
            }
        }
    }

    private List<String> targets() {
        return targets != null ? targets.get() : cluster.ids();
    }

    /** Throws if a callback found a violation. */
    void check() {
        if (violation != null) {
            throw new IllegalStateException(violation);
        }
    }

    private final class Call {
        final int client;
        final long id = nextOpId++;
        final OpKind kind;
        final boolean stale;
        /** A linearizable read through {@code leaseRead} (lease simulation only). */
        boolean lease;
        final String key;
        final String value;
        final String expected;
        final byte[] command;
        final long invokeTime = ctx.now();
        boolean done;
        /** The node called, and its incarnation then: if that incarnation crashes, the call ends. */
        NodeCluster.Member target;
        int incarnation;
        /** {@link #appSessions}: the write's session and number, and how many times it was sent. */
        long sessionId;
        long sequence;
        int attempts;

        Call(int client, OpKind kind, boolean stale, String key, String value, String expected, byte[] command) {
            this.client = client;
            this.kind = kind;
            this.stale = stale;
            this.key = key;
            this.value = value;
            this.expected = expected;
            this.command = command;
        }
    }

    long resentWrites() {
        return resent;
    }

    long answeredAfterResend() {
        return answeredAfterResend;
    }

    /** {@link #appSessions}: opens the client's session through a random node, then starts its calls. */
    private void openSession(int client) {
        List<String> targets = targets();
        RaftServer server = cluster.server(targets.get(random.nextInt(targets.size())));
        if (server == null) {
            ctx.schedule(ctx.now() + 20 * MILLIS + random.nextLong(100 * MILLIS), new ClientStart(client));
            return;
        }
        server.openSession().whenComplete((session, error) -> {
            if (session != null) {
                sessions.put(client, new long[] {session.id(), 1});
            }
            ctx.schedule(ctx.now() + (error == null ? 0 : 20 * MILLIS + random.nextLong(100 * MILLIS)), new ClientStart(client));
        });
    }

    private void startCall(int client) {
        check();
        if (stopped) {
            return;
        }
        if (appSessions && !sessions.containsKey(client)) {
            openSession(client);
            return;
        }
        String key = "k" + random.nextInt(keyCount);
        int dice = random.nextInt(100);
        Call call;
        if (dice < 40) {
            String value = "v" + nextOpId;
            call = new Call(client, OpKind.WRITE, false, key, value, null, SimKv.write(key, value));
        } else if (dice < 65) {
            call = new Call(client, OpKind.READ, false, key, null, null, null);
            // Drawn only with lease reads on, so every other run draws exactly as before.
            call.lease = cluster.config().leaseReads() && random.nextBoolean();
        } else if (dice < 90) {
            String expected = random.nextInt(3) == 0 ? null : "v" + random.nextLong(Math.max(1, nextOpId));
            String value = "v" + nextOpId;
            call = new Call(client, OpKind.CAS, false, key, value, expected, SimKv.compareAndSet(key, expected, value));
        } else if (dice < 98) {
            call = new Call(client, OpKind.READ, true, key, null, null, null);
        } else {
            // Over the command size limit: must fail at once, never reach the log.
            String value = "v" + nextOpId + "x".repeat((int) cluster.config().maxCommandBytes());
            call = new Call(client, OpKind.WRITE, false, key, value, null, SimKv.write(key, value));
        }
        if (appSessions && call.kind != OpKind.READ && call.command.length <= cluster.config().maxCommandBytes()) {
            long[] session = sessions.get(client);
            call.sessionId = session[0];
            call.sequence = session[1]++;
        }
        send(call);
    }

    /** Sends {@code call} to a random node (again, for a write in a session whose outcome is unknown). */
    private void send(Call call) {
        List<String> targets = targets();
        String target = targets.get(random.nextInt(targets.size()));
        RaftServer server = cluster.server(target);
        call.attempts++;
        if (server == null) {
            if (call.sessionId != 0 && call.attempts < MAX_ATTEMPTS) {
                ctx.schedule(ctx.now() + 10 * MILLIS + random.nextLong(50 * MILLIS), new Resend(call));
                return;
            }
            finish(call, call.attempts > 1 ? Outcome.UNKNOWN : Outcome.FAILED, null); // connection refused
            return;
        }
        inFlight.add(call);
        call.target = cluster.member(target);
        call.incarnation = call.target.incarnation;
        CompletableFuture<byte[]> future;
        byte[] keyBytes = call.key.getBytes(StandardCharsets.UTF_8);
        if (call.kind == OpKind.READ) {
            future = call.stale ? server.staleRead(keyBytes) : call.lease ? server.leaseRead(keyBytes) : server.read(keyBytes);
        } else if (call.sessionId != 0) {
            // A fresh handle every time, as after a restart of the application.
            future = server.session(call.sessionId).submit(call.sequence, call.command);
        } else {
            future = server.submit(call.command);
        }
        // Some clients are impatient: they give up before the server would, then call again.
        long patience = random.nextInt(4) == 0 ? requestTimeoutMicros / 4 + random.nextLong(requestTimeoutMicros)
                : requestTimeoutMicros + 500 * MILLIS;
        int attempt = call.attempts;
        ctx.schedule(ctx.now() + patience, new GiveUp(call, attempt));
        future.whenComplete((result, error) -> onResult(call, attempt, result, error));
    }

    /**
     * {@link #appSessions}: the current attempt of a write in a session ended without telling its
     * outcome (or saying it did not happen); send it again, same session and number, unless it has
     * been sent too often. Returns false if the caller should end the call as usual.
     */
    private boolean resendLater(Call call, int attempt) {
        if (call.sessionId == 0 || call.done || attempt != call.attempts || stopped) {
            return false;
        }
        if (call.attempts >= MAX_ATTEMPTS) {
            return false;
        }
        ctx.schedule(ctx.now() + 10 * MILLIS + random.nextLong(100 * MILLIS), new Resend(call));
        return true;
    }

    private final class Resend extends Event {
        private final Call call;

        Resend(Call call) {
            this.call = call;
        }

        @Override
        void run() {
            if (!call.done && !stopped) {
                resent++;
                send(call);
            }
        }
    }

    /**
     * A burst of load: {@code count} writes of large values at once through one node, each to its
     * own key, from clients that give up early. With a slow disk this is what fills the runtime's
     * queues; the server must answer busy rather than let them grow.
     */
    void burst(int count) {
        if (stopped) {
            return;
        }
        List<String> targets = targets();
        String target = targets.get(random.nextInt(targets.size()));
        ctx.note("a burst of " + count + " writes through " + target);
        burstThrough(target, count, false);
    }

    /**
     * {@code count} large writes through {@code target}, each to a key of its own, or, for a
     * {@code flood} (which goes on for seconds), to one of 64 keys: a flood tests the queues, and
     * megabytes of state it left behind would only make every later snapshot transfer slow.
     */
    private void burstThrough(String target, int count, boolean flood) {
        RaftServer server = cluster.server(target);
        if (server == null) {
            return;
        }
        int max = (int) Math.max(1, cluster.config().maxCommandBytes() - 64);
        for (int i = 0; i < count; i++) {
            String key = flood ? "f" + nextOpId % 64 : "b" + nextOpId;
            String value = "v" + nextOpId + "x".repeat(random.nextInt(max));
            Call call = new Call(-1 - i, OpKind.WRITE, false, key, value, null, SimKv.write(key, value));
            inFlight.add(call);
            CompletableFuture<byte[]> future = server.submit(call.command);
            ctx.schedule(ctx.now() + requestTimeoutMicros / 4 + random.nextLong(requestTimeoutMicros), new GiveUp(call, 0));
            future.whenComplete((result, error) -> onResult(call, 0, result, error));
        }
    }

    /**
     * Sustained overload: bursts through {@code target} every few milliseconds until {@code until}.
     * Calls that time out give their budget back while their entries still wait (for a slow disk,
     * say), so only the runtime's byte bounds keep what waits from growing for as long as this goes on.
     */
    void flood(String target, long until) {
        if (stopped || ctx.now() >= until) {
            return;
        }
        burstThrough(target, 10 + random.nextInt(60), true);
        ctx.schedule(ctx.now() + 5 * MILLIS + random.nextLong(45 * MILLIS), new Event() {
            @Override
            void run() {
                flood(target, until);
            }
        });
    }

    private void onResult(Call call, int attempt, byte[] result, Throwable error) {

        if (error instanceof CompletionException ce && ce.getCause() != null) {
            error = ce.getCause();
        }
        if (call.sessionId != 0 && error instanceof SessionExpiredException) {
            violation = "call " + call.id + ": session " + call.sessionId + " expired in a run far shorter than its expiry: " + error;
            return;
        }
        if (call.sessionId != 0 && error != null && !(error instanceof CommandTooLargeException)) {
            // Whatever the refusal, the same number may be sent again safely: at most once.
            if (resendLater(call, attempt)) {
                return;
            }
            if (attempt != call.attempts) {
                return; // an earlier attempt's answer; the current one decides
            }
        }
        if (error == null && call.sessionId != 0 && call.attempts > 1 && !call.done) {
            answeredAfterResend++;
        }
        if (error == null) {
            if (call.kind != OpKind.READ) {
                checkOwnResult(call, result);
            }
            finish(call, Outcome.OK, result);
        } else if (error instanceof NotLeaderException || error instanceof ServerBusyException) {
            finish(call, Outcome.FAILED, null); // nothing was done
        } else if (error instanceof CommandTooLargeException) {
            finish(call, Outcome.FAILED, null);
        } else if (error instanceof UnknownOutcomeException || error instanceof ServerClosedException) {
            finish(call, Outcome.UNKNOWN, null);
        } else if (error instanceof ReadTimeoutException && call.kind == OpKind.READ) {
            finish(call, Outcome.FAILED, null);
        } else {
            violation = "call " + call.id + " (" + call.kind + ") failed unexpectedly: " + error;
        }
        if (call.command != null && call.command.length > cluster.config().maxCommandBytes()
                && !(error instanceof CommandTooLargeException)) {
            violation = "a command of " + call.command.length + " bytes over maxCommandBytes "
                    + cluster.config().maxCommandBytes() + " was not refused at submit: " + error;
        }
    }

    /** A completed write must carry its own command's result, applied at the index it names. */
    private void checkOwnResult(Call call, byte[] result) {
        NodeKvMachine.WriteResult r = NodeKvMachine.WriteResult.parse(result);
        byte[] applied = cluster.appliedCommand(r.index());
        if (!r.written().equals(call.value) || applied == null || !Arrays.equals(applied, call.command)) {
            violation = "call " + call.id + " (" + call.kind + " " + call.key + "=" + call.value
                    + ") completed with the result of another command: " + new String(result, StandardCharsets.UTF_8);
            return;
        }
        highestAcknowledgedIndex = Math.max(highestAcknowledgedIndex, r.index());
    }

    private void finish(Call call, Outcome outcome, byte[] result) {
        finish(call, outcome, result, true);
    }

    private void finish(Call call, Outcome outcome, byte[] result, boolean next) {
        if (call.done) {
            return;
        }
        call.done = true;
        inFlight.remove(call);
        if (!call.stale && (call.command == null || call.command.length <= cluster.config().maxCommandBytes())) {
            history.add(record(call, outcome, result));
        }
        if (outcome == Outcome.OK) {
            okOps++;
            if (faultsOver) {
                okAfterHeal++;
            }
        }
        if (next && call.client >= 0) {
            long pause = outcome == Outcome.OK ? random.nextLong(3 * MILLIS) : 10 * MILLIS + random.nextLong(50 * MILLIS);
            ctx.schedule(ctx.now() + pause, new ClientStart(call.client));
        }
    }

    private Operation record(Call call, Outcome outcome, byte[] result) {
        long end = outcome == Outcome.UNKNOWN ? Operation.NEVER : ctx.now();
        return switch (call.kind) {
            case READ -> new Operation(call.client, call.id, OpKind.READ, call.key, null, null,
                    result == null ? null : NodeKvMachine.value(result), false, call.invokeTime, end, outcome);
            case WRITE -> new Operation(call.client, call.id, OpKind.WRITE, call.key, call.value, null, null, false,
                    call.invokeTime, end, outcome);
            case CAS -> new Operation(call.client, call.id, OpKind.CAS, call.key, call.value, call.expected, null,
                    result != null && NodeKvMachine.WriteResult.parse(result).result().equals("true"),
                    call.invokeTime, end, outcome);
        };
    }

    private final class ClientStart extends Event {
        private final int client;

        ClientStart(int client) {
            this.client = client;
        }

        @Override
        void run() {
            startCall(client);
        }
    }

    private final class GiveUp extends Event {
        private final Call call;
        private final int attempt;

        GiveUp(Call call, int attempt) {
            this.call = call;
            this.attempt = attempt;
        }

        @Override
        void run() {
            if (!call.done && !resendLater(call, attempt) && attempt == call.attempts) {
                finish(call, call.kind == OpKind.READ ? Outcome.FAILED : Outcome.UNKNOWN, null);
            }
        }
    }
}
