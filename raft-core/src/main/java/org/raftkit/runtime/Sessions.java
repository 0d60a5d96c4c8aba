package org.raftkit.runtime;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Client sessions (thesis §6.3): the replicated table that lets each command be applied at most
 * once. Every write carries its client's id, a sequence number, and the client's <em>floor</em>,
 * the lowest sequence number it may still send (every call below it has ended, one way or
 * another). The table keeps, per client, the results of the commands at or above its floor that
 * were applied; a command seen before is answered from the table and not applied again.
 *
 * <p>The table is part of the replicated state: every node applies the same entries in the same
 * order to the same table, and it travels in snapshots next to the state machine's bytes. So
 * everything here depends on the entries alone, never on a node's clock or memory: a client's
 * session expires once {@code expiryEntries} entries have been applied since its last command,
 * and when the table holds more than {@code maxBytes} the client whose last command is oldest is
 * dropped first. Both bounds are constants ({@link #MAX_BYTES}, {@link #EXPIRY_ENTRIES}), not
 * settings: nodes configured differently would keep different tables and answer a retry
 * differently.
 *
 * <p>Two kinds of client share the table. Each node's own session ({@link ClientSession}, one per
 * incarnation) has a random negative id and is created by its first command: a retry that arrives
 * after such a session ended may be applied again, which needs a client silent for a million
 * entries, or a table filled by that many other clients' calls. An application's registered
 * session ({@code org.raftkit.Session}) has as id the index of its {@code REGISTER_SESSION} entry
 * (thesis §6.3): a command of a registered id the table does not hold (expired, evicted, or never
 * registered) is refused, answered with {@link #EXPIRED}, so that it is never applied twice.
 *
 * <p>Apply loop only (and the constructor's caller, before the loop starts).
 */
final class Sessions {

    /**
     * Most bytes the table holds. A client keeps only the results of its calls still open, so
     * the table is small unless many clients (or crashed incarnations of nodes) left calls open.
     */
    static final long MAX_BYTES = 32L << 20;
    /** Entries applied after a client's last command before its session expires. */
    static final long EXPIRY_ENTRIES = org.raftkit.Session.EXPIRY_ENTRIES;

    /** Bytes before the command in a session command's payload: client id, sequence, floor. */
    static final int HEADER_BYTES = org.raftkit.message.Entry.SESSION_HEADER_BYTES;
    /** What one kept result costs besides its bytes (map node, boxed key, array header). */
    static final int RESULT_OVERHEAD_BYTES = 64;
    /** What one client costs besides its results. */
    static final int CLIENT_OVERHEAD_BYTES = 128;

    /** The start of the runtime's section in a snapshot body; a body without it has no sessions. */
    private static final byte[] SNAPSHOT_MAGIC = {'R', 'K', 'S', 'E', 'S', 'S', '0', '1'};

    /** A session command's header. */
    record Header(long clientId, long sequence, long floor) {
    }

    /** What applying a session command found. */
    record Outcome(boolean duplicate, byte[] result) {
    }

    /** One client's session: its floor, the results it may still ask for, and where it was last seen. */
    private static final class Client {
        long floor;
        long lastIndex;
        final ResultWindow results = new ResultWindow();
    }

    private final long maxBytes;
    private final long expiryEntries;
    /** Least recently active first (by the index of their last command). */
    private final LinkedHashMap<Long, Client> clients = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;
    private long duplicates;
    private long expired;
    private long registered;
    private long expiredRefusals;

    Sessions(long maxBytes, long expiryEntries) {
        if (maxBytes < 0 || expiryEntries < 1) {
            throw new IllegalArgumentException("maxBytes " + maxBytes + ", expiryEntries " + expiryEntries);
        }
        this.maxBytes = maxBytes;
        this.expiryEntries = expiryEntries;
    }

    /** A session command's payload: the header, then the client's command. */
    static byte[] wrap(long clientId, long sequence, long floor, byte[] command) {
        byte[] out = new byte[HEADER_BYTES + command.length];
        ByteBuffer.wrap(out).putLong(clientId).putLong(sequence).putLong(floor);
        System.arraycopy(command, 0, out, HEADER_BYTES, command.length);
        return out;
    }

    /** The header of a session command's payload, or null if it cannot be one. */
    /**
     * The answer, by identity, to a command below its client's floor: not applied. The applier
     * fails a call still waiting for it instead of completing it with this.
     */
    static final byte[] GIVEN_UP = new byte[0];

    /**
     * The answer, by identity, to a command of a registered session the table does not hold: not
     * applied. The applier fails the call with {@code SessionExpiredException}.
     */
    static final byte[] EXPIRED = new byte[0];

    /**
     * Whether {@code clientId}, in a command at {@code index}, names a registered session: the index
     * of an earlier entry. Node sessions' ids are negative ({@link #nodeSessionId}); ids drawn before
     * that rule are random longs, in this range with odds of about index / 2^64.
     */
    static boolean isRegistered(long clientId, long index) {
        return clientId >= 1 && clientId < index;
    }

    /** A node session's id from a random long: negative, so never a registered session's. */
    static long nodeSessionId(long random) {
        return random | Long.MIN_VALUE;
    }

    /**
     * Applies a {@code REGISTER_SESSION} entry at {@code index}: a new session whose id is the index.
     * Returns the id as the entry's result (8 bytes, big-endian).
     */
    byte[] register(long index) {
        expire(index);
        if (!clients.containsKey(index)) {
            Client c = new Client();
            c.floor = 1;
            c.lastIndex = index;
            clients.put(index, c);
            bytes += CLIENT_OVERHEAD_BYTES;
            registered++;
            while (bytes > maxBytes && clients.size() > 1) {
                dropOldest();
            }
        }
        return ByteBuffer.allocate(Long.BYTES).putLong(index).array();
    }

    static Header header(byte[] payload) {
        if (payload.length < HEADER_BYTES) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(payload);
        long client = b.getLong();
        long sequence = b.getLong();
        long floor = b.getLong();
        if (sequence < 1 || floor < 1 || floor > sequence) {
            return null;
        }
        return new Header(client, sequence, floor);
    }

    /** The client's command inside a session command's payload. */
    static byte[] command(byte[] payload) {
        return Arrays.copyOfRange(payload, HEADER_BYTES, payload.length);
    }

    /**
     * Before applying the session command at {@code index}: whether it was applied before (then
     * its first result), after forgetting what the client says it no longer needs and what expired.
     * A command below the client's floor was given up by the client; it is not applied either,
     * and answered with {@link #GIVEN_UP} (nobody should wait for it; one who does is told that
     * the outcome is unknown, never that it succeeded).
     */
    Outcome before(long index, Header h) {
        expire(index);
        Client c = clients.get(h.clientId());
        if (c == null && isRegistered(h.clientId(), index)) {
            expiredRefusals++;
            return new Outcome(true, EXPIRED);
        }
        if (c == null) {
            c = new Client();
            c.floor = h.floor();
            clients.put(h.clientId(), c);
            bytes += CLIENT_OVERHEAD_BYTES;
        }
        c.lastIndex = index;
        if (h.floor() > c.floor) {
            c.floor = h.floor();
            bytes -= c.results.dropBelow(h.floor(), RESULT_OVERHEAD_BYTES);
        }
        byte[] first = c.results.get(h.sequence());
        if (first != null) {
            duplicates++;
            return new Outcome(true, first);
        }
        if (h.sequence() < c.floor) {
            duplicates++;
            return new Outcome(true, GIVEN_UP);
        }
        return new Outcome(false, null);
    }

    /** After applying a session command for the first time: keeps its result for retries. */
    void after(Header h, byte[] result) {
        Client c = clients.get(h.clientId());
        byte[] kept = result == null ? RemoteRequest.EMPTY : result;
        byte[] replaced = c.results.put(h.sequence(), kept);
        bytes += RESULT_OVERHEAD_BYTES + kept.length
                - (replaced == null ? 0 : RESULT_OVERHEAD_BYTES + replaced.length);
        while (bytes > maxBytes && !clients.isEmpty()) {
            dropOldest();
        }
    }

    /** Drops the sessions whose last command is {@code expiryEntries} or more entries before {@code index}. */
    private void expire(long index) {
        Iterator<Map.Entry<Long, Client>> it = clients.entrySet().iterator();
        while (it.hasNext()) {
            Client c = it.next().getValue();
            if (index - c.lastIndex < expiryEntries) {
                return; // the rest were active later
            }
            bytes -= cost(c);
            expired++;
            it.remove();
        }
    }

    private void dropOldest() {
        Iterator<Map.Entry<Long, Client>> it = clients.entrySet().iterator();
        bytes -= cost(it.next().getValue());
        expired++;
        it.remove();
    }

    private static long cost(Client c) {
        long b = CLIENT_OVERHEAD_BYTES;
        b += c.results.bytes(RESULT_OVERHEAD_BYTES);
        return b;
    }

    int clientCount() {
        return clients.size();
    }

    long bytes() {
        return bytes;
    }

    /** Commands answered from the table instead of applied again, since this node started. */
    long duplicates() {
        return duplicates;
    }

    /** Sessions registered ({@code REGISTER_SESSION} entries applied), since this node started. */
    long registeredCount() {
        return registered;
    }

    /** Commands refused because their registered session was unknown, since this node started. */
    long expiredRefusals() {
        return expiredRefusals;
    }

    /** Sessions dropped (expired or evicted for space), since this node started. */
    long expiredCount() {
        return expired;
    }

    /** A copy of the table as bytes, for a snapshot taken now; apply loop, between two applies. */
    byte[] snapshot() {
        var buffer = new java.io.ByteArrayOutputStream((int) Math.min(Integer.MAX_VALUE - 16, bytes + 64));
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            out.write(SNAPSHOT_MAGIC);
            out.writeInt(clients.size());
            for (Map.Entry<Long, Client> e : clients.entrySet()) { // least recently active first
                Client c = e.getValue();
                out.writeLong(e.getKey());
                out.writeLong(c.floor);
                out.writeLong(c.lastIndex);
                out.writeInt(c.results.size());
                for (int i = 0; i < c.results.size(); i++) {
                    out.writeLong(c.results.sequenceAt(i));
                    out.writeInt(c.results.resultAt(i).length);
                    out.write(c.results.resultAt(i));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot happen writing to memory", e);
        }
        return buffer.toByteArray();
    }

    /**
     * Replaces the table with a snapshot's, read from the start of its body, and returns the
     * stream positioned at the state machine's bytes. A body without the runtime's section (a
     * snapshot written before sessions existed) leaves the table empty and the stream untouched.
     *
     * @throws IOException if the section is there but cut short or malformed
     */
    InputStream restore(InputStream body) throws IOException {
        BufferedInputStream in = new BufferedInputStream(body, 64 << 10);
        in.mark(SNAPSHOT_MAGIC.length);
        byte[] magic = in.readNBytes(SNAPSHOT_MAGIC.length);
        clients.clear();
        bytes = 0;
        if (!Arrays.equals(magic, SNAPSHOT_MAGIC)) {
            in.reset();
            return in;
        }
        DataInputStream data = new DataInputStream(in);
        int count = data.readInt();
        if (count < 0) {
            throw new IOException("snapshot's session table: negative client count " + count);
        }
        for (int i = 0; i < count; i++) {
            long id = data.readLong();
            Client c = new Client();
            c.floor = data.readLong();
            c.lastIndex = data.readLong();
            int results = data.readInt();
            if (results < 0) {
                throw new IOException("snapshot's session table: negative result count for client " + id);
            }
            for (int j = 0; j < results; j++) {
                long sequence = data.readLong();
                int length = data.readInt();
                if (length < 0) {
                    throw new IOException("snapshot's session table: result of " + length + " bytes for client " + id);
                }
                byte[] result = data.readNBytes(length);
                if (result.length != length) {
                    throw new IOException("snapshot's session table is cut short");
                }
                c.results.put(sequence, result);
            }
            clients.put(id, c);
            bytes += cost(c);
        }
        return in;
    }
}
