package org.raftkit.transport.netty;

import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;

import org.raftkit.message.AppendEntries;
import org.raftkit.message.AppendEntriesReply;
import org.raftkit.message.ClientReply;
import org.raftkit.message.ClientRequest;
import org.raftkit.message.Entry;
import org.raftkit.message.EntryType;
import org.raftkit.message.Heartbeat;
import org.raftkit.message.HeartbeatReply;
import org.raftkit.message.InstallSnapshot;
import org.raftkit.message.InstallSnapshotReply;
import org.raftkit.message.Message;
import org.raftkit.message.ReadIndexReply;
import org.raftkit.message.ReadIndexRequest;
import org.raftkit.message.RequestVote;
import org.raftkit.message.RequestVoteReply;
import org.raftkit.message.TimeoutNow;
import org.raftkit.transport.netty.wire.Envelope;

/**
 * Converts between the core's message records and the wire's {@link Envelope}. The core never
 * sees protobuf; this class is the only place that knows both.
 *
 * <p>Payloads (entry data, snapshot chunks, client commands and results) are wrapped, not copied, on encode: the
 * one copy is protobuf writing them into the outbound buffer. On decode each payload is copied
 * once, out of the inbound buffer into the {@code byte[]} the record holds. Stateless and
 * thread-safe; called on event loop threads.
 */
final class MessageCodec {

    private static final byte[] EMPTY = new byte[0];

    private MessageCodec() {
    }

    /** The envelope carrying {@code m}. Never fails for a message the core can build. */
    static Envelope encode(Message m) {
        Envelope.Builder e = Envelope.newBuilder().setFrom(m.from()).setTo(m.to());
        if (m instanceof AppendEntries a) {
            e.setAppendEntries(encodeAppendEntries(a));
        } else if (m instanceof AppendEntriesReply r) {
            e.setAppendEntriesReply(org.raftkit.transport.netty.wire.AppendEntriesReply.newBuilder()
                    .setTerm(r.term()).setSuccess(r.success()).setPrevLogIndex(r.prevLogIndex())
                    .setMatchIndex(r.matchIndex()).setConflictTerm(r.conflictTerm())
                    .setConflictIndex(r.conflictIndex()));
        } else if (m instanceof Heartbeat h) {
            e.setHeartbeat(org.raftkit.transport.netty.wire.Heartbeat.newBuilder()
                    .setTerm(h.term()).setCommitIndex(h.commitIndex()).setReadRound(h.readRound()));
        } else if (m instanceof HeartbeatReply r) {
            e.setHeartbeatReply(org.raftkit.transport.netty.wire.HeartbeatReply.newBuilder()
                    .setTerm(r.term()).setReadRound(r.readRound()));
        } else if (m instanceof RequestVote v) {
            e.setRequestVote(org.raftkit.transport.netty.wire.RequestVote.newBuilder()
                    .setTerm(v.term()).setLastLogIndex(v.lastLogIndex()).setLastLogTerm(v.lastLogTerm())
                    .setPreVote(v.preVote()).setTransfer(v.transfer()));
        } else if (m instanceof RequestVoteReply r) {
            e.setRequestVoteReply(org.raftkit.transport.netty.wire.RequestVoteReply.newBuilder()
                    .setTerm(r.term()).setVoteGranted(r.voteGranted()).setPreVote(r.preVote()));
        } else if (m instanceof ReadIndexRequest r) {
            e.setReadIndexRequest(org.raftkit.transport.netty.wire.ReadIndexRequest.newBuilder()
                    .setTerm(r.term()).setRequestId(r.requestId()).setLease(r.lease()));
        } else if (m instanceof ReadIndexReply r) {
            e.setReadIndexReply(org.raftkit.transport.netty.wire.ReadIndexReply.newBuilder()
                    .setTerm(r.term()).setRequestId(r.requestId()).setSuccess(r.success())
                    .setReadIndex(r.readIndex()));
        } else if (m instanceof InstallSnapshot s) {
            e.setInstallSnapshot(org.raftkit.transport.netty.wire.InstallSnapshot.newBuilder()
                    .setTerm(s.term()).setLastIncludedIndex(s.lastIncludedIndex())
                    .setLastIncludedTerm(s.lastIncludedTerm()).setOffset(s.offset())
                    .setData(UnsafeByteOperations.unsafeWrap(s.data())).setDone(s.done()));
        } else if (m instanceof InstallSnapshotReply r) {
            e.setInstallSnapshotReply(org.raftkit.transport.netty.wire.InstallSnapshotReply.newBuilder()
                    .setTerm(r.term()).setLastIncludedIndex(r.lastIncludedIndex()).setNextOffset(r.nextOffset())
                    .setDone(r.done()));
        } else if (m instanceof TimeoutNow t) {
            e.setTimeoutNow(org.raftkit.transport.netty.wire.TimeoutNow.newBuilder().setTerm(t.term()));
        } else if (m instanceof ClientRequest c) {
            e.setClientRequest(org.raftkit.transport.netty.wire.ClientRequest.newBuilder()
                    .setRequestId(c.requestId()).setKind(encodeKind(c.kind()))
                    .setPayload(UnsafeByteOperations.unsafeWrap(c.payload())));
        } else if (m instanceof ClientReply c) {
            e.setClientReply(encodeClientReply(c));
        } else {
            // Message is sealed: a new subtype must be added here (and to raft.proto) first.
            throw new IllegalArgumentException("no wire form for " + m.getClass().getName());
        }
        return e.build();
    }

    /**
     * The message an envelope carries.
     *
     * @throws WireFormatException with {@link RejectReason#UNKNOWN_MESSAGE} if the body is not one
     *                             this node knows, {@link RejectReason#UNSUPPORTED_CONTENT} if it
     *                             carries an enum value from a newer protocol, or
     *                             {@link RejectReason#MALFORMED_FRAME} if a field is invalid
     */
    static Message decode(Envelope e) throws WireFormatException {
        String from = e.getFrom();
        String to = e.getTo();
        switch (e.getBodyCase()) {
            case APPEND_ENTRIES:
                return decodeAppendEntries(from, to, e.getAppendEntries());
            case APPEND_ENTRIES_REPLY: {
                var r = e.getAppendEntriesReply();
                return new AppendEntriesReply(from, to, r.getTerm(), r.getSuccess(), r.getPrevLogIndex(),
                        r.getMatchIndex(), r.getConflictTerm(), r.getConflictIndex());
            }
            case HEARTBEAT: {
                var h = e.getHeartbeat();
                return new Heartbeat(from, to, h.getTerm(), h.getCommitIndex(), h.getReadRound());
            }
            case HEARTBEAT_REPLY: {
                var r = e.getHeartbeatReply();
                return new HeartbeatReply(from, to, r.getTerm(), r.getReadRound());
            }
            case REQUEST_VOTE: {
                var v = e.getRequestVote();
                return new RequestVote(from, to, v.getTerm(), v.getLastLogIndex(), v.getLastLogTerm(), v.getPreVote(),
                        v.getTransfer());
            }
            case REQUEST_VOTE_REPLY: {
                var r = e.getRequestVoteReply();
                return new RequestVoteReply(from, to, r.getTerm(), r.getVoteGranted(), r.getPreVote());
            }
            case READ_INDEX_REQUEST: {
                var r = e.getReadIndexRequest();
                return new ReadIndexRequest(from, to, r.getTerm(), r.getRequestId(), r.getLease());
            }
            case READ_INDEX_REPLY: {
                var r = e.getReadIndexReply();
                return new ReadIndexReply(from, to, r.getTerm(), r.getRequestId(), r.getSuccess(), r.getReadIndex());
            }
            case INSTALL_SNAPSHOT: {
                var s = e.getInstallSnapshot();
                return new InstallSnapshot(from, to, s.getTerm(), s.getLastIncludedIndex(), s.getLastIncludedTerm(),
                        s.getOffset(), bytes(s.getData()), s.getDone());
            }
            case TIMEOUT_NOW:
                return new TimeoutNow(from, to, e.getTimeoutNow().getTerm());
            case INSTALL_SNAPSHOT_REPLY: {
                var r = e.getInstallSnapshotReply();
                return new InstallSnapshotReply(from, to, r.getTerm(), r.getLastIncludedIndex(), r.getNextOffset(),
                        r.getDone());
            }
            case CLIENT_REQUEST: {
                var c = e.getClientRequest();
                return new ClientRequest(from, to, c.getRequestId(), decodeKind(c.getKind()), bytes(c.getPayload()));
            }
            case CLIENT_REPLY:
                return decodeClientReply(from, to, e.getClientReply());
            default:
                // BODY_NOT_SET: a body added by a newer protocol version (or none at all). Connection
                // management bodies never get here; the handlers deal with them first.
                throw new WireFormatException(RejectReason.UNKNOWN_MESSAGE,
                        "envelope with no body this node knows (" + e.getBodyCase() + ")");
        }
    }

    private static org.raftkit.transport.netty.wire.AppendEntries encodeAppendEntries(AppendEntries a) {
        var b = org.raftkit.transport.netty.wire.AppendEntries.newBuilder()
                .setTerm(a.term()).setPrevLogIndex(a.prevLogIndex()).setPrevLogTerm(a.prevLogTerm())
                .setLeaderCommit(a.leaderCommit());
        var entry = org.raftkit.transport.netty.wire.Entry.newBuilder();
        for (Entry x : a.entries()) {
            b.addEntries(entry.setIndex(x.index()).setTerm(x.term()).setType(encodeEntryType(x.type()))
                    .setData(UnsafeByteOperations.unsafeWrap(x.data())));
        }
        return b.build();
    }

    private static AppendEntries decodeAppendEntries(String from, String to,
                                                     org.raftkit.transport.netty.wire.AppendEntries a)
            throws WireFormatException {
        int n = a.getEntriesCount();
        List<Entry> entries = n == 0 ? List.of() : new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            var x = a.getEntries(i);
            EntryType type = decodeEntryType(x.getType());
            try {
                entries.add(new Entry(x.getIndex(), x.getTerm(), type, bytes(x.getData())));
            } catch (IllegalArgumentException invalid) {
                throw new WireFormatException(RejectReason.MALFORMED_FRAME, invalid.getMessage());
            }
        }
        return new AppendEntries(from, to, a.getTerm(), a.getPrevLogIndex(), a.getPrevLogTerm(), entries,
                a.getLeaderCommit());
    }

    private static org.raftkit.transport.netty.wire.ClientReply encodeClientReply(ClientReply c) {
        var b = org.raftkit.transport.netty.wire.ClientReply.newBuilder()
                .setRequestId(c.requestId()).setStatus(encodeStatus(c.status()));
        if (c.result() != null) {
            b.setResult(UnsafeByteOperations.unsafeWrap(c.result()));
        }
        if (c.leaderHint() != null) {
            b.setLeaderHint(c.leaderHint());
        }
        if (c.detail() != null) {
            b.setDetail(c.detail());
        }
        return b.build();
    }

    private static ClientReply decodeClientReply(String from, String to,
                                                 org.raftkit.transport.netty.wire.ClientReply c)
            throws WireFormatException {
        return new ClientReply(from, to, c.getRequestId(), decodeStatus(c.getStatus()),
                c.hasResult() ? bytes(c.getResult()) : null,
                c.hasLeaderHint() ? c.getLeaderHint() : null,
                c.hasDetail() ? c.getDetail() : null);
    }

    /** The one copy of a payload on the inbound path. */
    private static byte[] bytes(ByteString b) {
        return b.isEmpty() ? EMPTY : b.toByteArray();
    }

    private static org.raftkit.transport.netty.wire.EntryType encodeEntryType(EntryType t) {
        switch (t) {
            case COMMAND:
                return org.raftkit.transport.netty.wire.EntryType.ENTRY_TYPE_COMMAND;
            case NO_OP:
                return org.raftkit.transport.netty.wire.EntryType.ENTRY_TYPE_NO_OP;
            case CONFIGURATION:
                return org.raftkit.transport.netty.wire.EntryType.ENTRY_TYPE_CONFIGURATION;
            case SESSION_COMMAND:
                return org.raftkit.transport.netty.wire.EntryType.ENTRY_TYPE_SESSION_COMMAND;
            case REGISTER_SESSION:
                return org.raftkit.transport.netty.wire.EntryType.ENTRY_TYPE_REGISTER_SESSION;
            default:
                throw new IllegalArgumentException("no wire form for entry type " + t);
        }
    }

    private static EntryType decodeEntryType(org.raftkit.transport.netty.wire.EntryType t)
            throws WireFormatException {
        switch (t) {
            case ENTRY_TYPE_COMMAND:
                return EntryType.COMMAND;
            case ENTRY_TYPE_NO_OP:
                return EntryType.NO_OP;
            case ENTRY_TYPE_CONFIGURATION:
                return EntryType.CONFIGURATION;
            case ENTRY_TYPE_SESSION_COMMAND:
                return EntryType.SESSION_COMMAND;
            case ENTRY_TYPE_REGISTER_SESSION:
                return EntryType.REGISTER_SESSION;
            default:
                throw unsupported("entry type", t);
        }
    }

    private static org.raftkit.transport.netty.wire.ClientRequest.Kind encodeKind(ClientRequest.Kind k) {
        switch (k) {
            case WRITE:
                return org.raftkit.transport.netty.wire.ClientRequest.Kind.KIND_WRITE;
            case READ:
                return org.raftkit.transport.netty.wire.ClientRequest.Kind.KIND_READ;
            case REGISTER_SESSION:
                return org.raftkit.transport.netty.wire.ClientRequest.Kind.KIND_REGISTER_SESSION;
            default:
                throw new IllegalArgumentException("no wire form for request kind " + k);
        }
    }

    private static ClientRequest.Kind decodeKind(org.raftkit.transport.netty.wire.ClientRequest.Kind k)
            throws WireFormatException {
        switch (k) {
            case KIND_WRITE:
                return ClientRequest.Kind.WRITE;
            case KIND_READ:
                return ClientRequest.Kind.READ;
            case KIND_REGISTER_SESSION:
                return ClientRequest.Kind.REGISTER_SESSION;
            default:
                throw unsupported("client request kind", k);
        }
    }

    private static org.raftkit.transport.netty.wire.ClientReply.Status encodeStatus(ClientReply.Status s) {
        switch (s) {
            case OK:
                return org.raftkit.transport.netty.wire.ClientReply.Status.STATUS_OK;
            case NOT_LEADER:
                return org.raftkit.transport.netty.wire.ClientReply.Status.STATUS_NOT_LEADER;
            case BUSY:
                return org.raftkit.transport.netty.wire.ClientReply.Status.STATUS_BUSY;
            case UNKNOWN_OUTCOME:
                return org.raftkit.transport.netty.wire.ClientReply.Status.STATUS_UNKNOWN_OUTCOME;
            case STATE_MACHINE_ERROR:
                return org.raftkit.transport.netty.wire.ClientReply.Status.STATUS_STATE_MACHINE_ERROR;
            case SESSION_EXPIRED:
                return org.raftkit.transport.netty.wire.ClientReply.Status.STATUS_SESSION_EXPIRED;
            default:
                throw new IllegalArgumentException("no wire form for reply status " + s);
        }
    }

    private static ClientReply.Status decodeStatus(org.raftkit.transport.netty.wire.ClientReply.Status s)
            throws WireFormatException {
        switch (s) {
            case STATUS_OK:
                return ClientReply.Status.OK;
            case STATUS_NOT_LEADER:
                return ClientReply.Status.NOT_LEADER;
            case STATUS_BUSY:
                return ClientReply.Status.BUSY;
            case STATUS_UNKNOWN_OUTCOME:
                return ClientReply.Status.UNKNOWN_OUTCOME;
            case STATUS_STATE_MACHINE_ERROR:
                return ClientReply.Status.STATE_MACHINE_ERROR;
            case STATUS_SESSION_EXPIRED:
                return ClientReply.Status.SESSION_EXPIRED;
            default:
                throw unsupported("client reply status", s);
        }
    }

    /**
     * A value this node cannot represent. UNRECOGNIZED is a newer peer's enum value: drop the
     * message and keep the connection. The zero value is never sent, so it means a broken peer.
     */
    private static WireFormatException unsupported(String what, Enum<?> value) {
        boolean newer = value.name().equals("UNRECOGNIZED");
        return new WireFormatException(newer ? RejectReason.UNSUPPORTED_CONTENT : RejectReason.MALFORMED_FRAME,
                (newer ? "unknown " : "missing ") + what);
    }
}
