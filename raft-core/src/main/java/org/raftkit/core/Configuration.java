package org.raftkit.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A cluster configuration (thesis chapter 4): the servers that take part, each with its Raft
 * address and kind, and, during joint consensus (thesis §4.3), the outgoing configuration too.
 *
 * <p>A simple configuration has only {@link #members()}. A joint configuration C<sub>old,new</sub>
 * has {@link #members()} = C<sub>new</sub> and {@link #outgoing()} = C<sub>old</sub>: an election
 * or a commitment then needs a majority of C<sub>old</sub>'s voters and a majority of
 * C<sub>new</sub>'s voters, separately ({@link Quorum}). Learners receive the log but count in no
 * majority. Immutable.
 *
 * <p>Configurations travel in log entries of type {@code CONFIGURATION} and in snapshot headers, in
 * the binary form of {@link #encode()} (big-endian):
 * <pre>
 * bytes  field
 * 1      encoding version, {@value #ENCODING_VERSION}
 * 2      member count m (unsigned)
 * ...    m members, each: id (2-byte unsigned UTF-8 length, bytes), address (same), kind (1 byte:
 *        0 voter, 1 learner)
 * 2      outgoing member count o (unsigned); 0 unless joint
 * ...    o members, as above
 * </pre>
 * Nothing may follow. {@link #decode} refuses anything else with a {@link MalformedConfigurationException}
 * naming the offset.
 *
 * @param members  C<sub>new</sub> (or the only configuration), in a fixed order; ids unique
 * @param outgoing C<sub>old</sub> during joint consensus, else empty; ids unique
 */
public record Configuration(List<Member> members, List<Member> outgoing) {

    /** The only encoding version so far; a higher one is refused, not guessed at. */
    public static final int ENCODING_VERSION = 1;

    /** Longest id or address, in UTF-8 bytes. */
    public static final int MAX_STRING_BYTES = 0xffff;

    /** The configuration of a node that has none yet (it waits to be added): no member at all. */
    public static final Configuration EMPTY = new Configuration(List.of(), List.of());

    /** What a member does in a configuration. */
    public enum Kind {
        /** Votes, may be elected, and counts in commit quorums. */
        VOTER,
        /** Receives the log and snapshots; never votes, campaigns or counts in a quorum. */
        LEARNER
    }

    /**
     * One server of a configuration.
     *
     * @param id      its node id, never empty
     * @param address its Raft address, opaque to the core (the transport parses it); may be empty
     * @param kind    voter or learner
     */
    public record Member(String id, String address, Kind kind) {
        public Member {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(kind, "kind");
            if (id.isEmpty()) {
                throw new IllegalArgumentException("a member id is never empty");
            }
            if (utf8(id).length > MAX_STRING_BYTES || utf8(address).length > MAX_STRING_BYTES) {
                throw new IllegalArgumentException("member " + id + ": id or address longer than "
                        + MAX_STRING_BYTES + " UTF-8 bytes");
            }
        }

        /** A voter. */
        public static Member voter(String id, String address) {
            return new Member(id, address, Kind.VOTER);
        }

        /** A learner. */
        public static Member learner(String id, String address) {
            return new Member(id, address, Kind.LEARNER);
        }

        /** This member with another kind. */
        public Member as(Kind newKind) {
            return new Member(id, address, newKind);
        }
    }

    /** A configuration that fails {@link #decode}; says at which byte and why. */
    public static final class MalformedConfigurationException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        private final int offset;

        MalformedConfigurationException(int offset, String detail) {
            super("malformed configuration at byte " + offset + ": " + detail);
            this.offset = offset;
        }

        /** The byte offset of the bad field. */
        public int offset() {
            return offset;
        }
    }

    /**
     * @throws IllegalArgumentException if an id repeats within {@code members} or within
     *                                  {@code outgoing}, or {@code outgoing} is given without voters
     */
    public Configuration {
        members = List.copyOf(members);
        outgoing = List.copyOf(outgoing);
        requireUniqueIds(members, "members");
        requireUniqueIds(outgoing, "outgoing members");
        if (!outgoing.isEmpty() && outgoing.stream().noneMatch(m -> m.kind() == Kind.VOTER)) {
            throw new IllegalArgumentException("a joint configuration's outgoing part has no voter: " + outgoing);
        }
    }

    /** A simple configuration of voters without addresses (how a fixed cluster is described). */
    public static Configuration ofVoters(List<String> ids) {
        List<Member> ms = new ArrayList<>();
        for (String id : new LinkedHashSet<>(ids)) {
            ms.add(Member.voter(id, ""));
        }
        return new Configuration(ms, List.of());
    }

    /** A simple configuration of these members. */
    public static Configuration of(List<Member> members) {
        return new Configuration(members, List.of());
    }

    /** C<sub>old,new</sub>: this (simple) configuration moving to {@code target} (thesis §4.3). */
    public Configuration jointWith(Configuration target) {
        if (isJoint() || target.isJoint()) {
            throw new IllegalArgumentException("joint configurations do not nest: " + this + " -> " + target);
        }
        return new Configuration(target.members, members);
    }

    /** C<sub>new</sub> of a joint configuration; a simple one is its own target. */
    public Configuration target() {
        return isJoint() ? new Configuration(members, List.of()) : this;
    }

    /** Whether this is C<sub>old,new</sub>. */
    public boolean isJoint() {
        return !outgoing.isEmpty();
    }

    /** Voter ids of C<sub>new</sub> (of the only configuration, if simple), in order. */
    public Set<String> voters() {
        return idsOf(members, Kind.VOTER);
    }

    /** Voter ids of C<sub>old</sub> while joint; empty otherwise. */
    public Set<String> outgoingVoters() {
        return idsOf(outgoing, Kind.VOTER);
    }

    /** Whether {@code id} votes in C<sub>new</sub> or, while joint, in C<sub>old</sub>. */
    public boolean isVoter(String id) {
        return kindIn(members, id) == Kind.VOTER || kindIn(outgoing, id) == Kind.VOTER;
    }

    /** Whether {@code id} is in this configuration at all (either part, any kind). */
    public boolean contains(String id) {
        return kindIn(members, id) != null || kindIn(outgoing, id) != null;
    }

    /** Every server in either part, each once, with its newest address and kind (C<sub>new</sub> wins). */
    public List<Member> allMembers() {
        Map<String, Member> all = new LinkedHashMap<>();
        for (Member m : members) {
            all.put(m.id(), m);
        }
        for (Member m : outgoing) {
            all.putIfAbsent(m.id(), m);
        }
        return List.copyOf(all.values());
    }

    /** Every voter of either part, each once. */
    public Set<String> allVoters() {
        Set<String> all = new LinkedHashSet<>(voters());
        all.addAll(outgoingVoters());
        return Collections.unmodifiableSet(all);
    }

    /** The member with this id in C<sub>new</sub>, else in C<sub>old</sub>, else null. */
    public Member member(String id) {
        for (Member m : members) {
            if (m.id().equals(id)) {
                return m;
            }
        }
        for (Member m : outgoing) {
            if (m.id().equals(id)) {
                return m;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------------------------------------
    // Encoding
    // ---------------------------------------------------------------------------------------------

    /** The binary form described in the class comment. */
    public byte[] encode() {
        int size = 1 + 2 + 2;
        for (Member m : members) {
            size += encodedSize(m);
        }
        for (Member m : outgoing) {
            size += encodedSize(m);
        }
        Writer w = new Writer(size);
        w.u8(ENCODING_VERSION);
        w.members(members);
        w.members(outgoing);
        return w.bytes;
    }

    /**
     * Reads the form {@link #encode()} writes, and checks it: known version, lengths inside the
     * input, valid UTF-8, non-empty and unique ids, known kinds, a joint configuration's outgoing
     * part with a voter, nothing left over.
     *
     * @throws MalformedConfigurationException naming the offset and what is wrong
     */
    public static Configuration decode(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        Reader r = new Reader(bytes);
        int version = r.u8("encoding version");
        if (version != ENCODING_VERSION) {
            throw new MalformedConfigurationException(0, "encoding version " + version + " is not "
                    + ENCODING_VERSION + (version > ENCODING_VERSION ? " (written by a newer RaftKit)" : ""));
        }
        List<Member> members = r.members("member");
        int outgoingAt = r.at;
        List<Member> outgoing = r.members("outgoing member");
        if (r.at != bytes.length) {
            throw new MalformedConfigurationException(r.at, (bytes.length - r.at) + " bytes after the configuration");
        }
        try {
            return new Configuration(members, outgoing);
        } catch (IllegalArgumentException e) {
            throw new MalformedConfigurationException(outgoingAt, e.getMessage());
        }
    }

    private static final class Reader {
        private final byte[] bytes;
        private int at;

        Reader(byte[] bytes) {
            this.bytes = bytes;
        }

        int u8(String what) {
            need(1, what);
            return bytes[at++] & 0xff;
        }

        int u16(String what) {
            need(2, what);
            int v = ((bytes[at] & 0xff) << 8) | (bytes[at + 1] & 0xff);
            at += 2;
            return v;
        }

        String string(String what) {
            int n = u16(what + " length");
            need(n, what);
            String s = Utf8.decode(bytes, at, n);
            if (s == null) {
                throw new MalformedConfigurationException(at, what + " is not valid UTF-8");
            }
            at += n;
            return s;
        }

        List<Member> members(String what) {
            int count = u16(what + " count");
            List<Member> out = new ArrayList<>(Math.min(count, 64));
            Set<String> ids = new java.util.HashSet<>();
            for (int i = 0; i < count; i++) {
                int start = at;
                String id = string(what + " " + i + " id");
                String address = string(what + " " + i + " address");
                int kind = u8(what + " " + i + " kind");
                if (id.isEmpty()) {
                    throw new MalformedConfigurationException(start, what + " " + i + " has an empty id");
                }
                if (kind > 1) {
                    throw new MalformedConfigurationException(at - 1, what + " " + id + " has unknown kind " + kind);
                }
                if (!ids.add(id)) {
                    throw new MalformedConfigurationException(start, what + " " + id + " appears twice");
                }
                out.add(new Member(id, address, kind == 0 ? Kind.VOTER : Kind.LEARNER));
            }
            return out;
        }

        private void need(int n, String what) {
            if (bytes.length - at < n) {
                throw new MalformedConfigurationException(at, what + " runs past the end (" + bytes.length + " bytes)");
            }
        }
    }

    private static int encodedSize(Member m) {
        return 2 + utf8(m.id()).length + 2 + utf8(m.address()).length + 1;
    }

    /** Big-endian writes into an array of the exact size. */
    private static final class Writer {
        final byte[] bytes;
        private int at;

        Writer(int size) {
            this.bytes = new byte[size];
        }

        void u8(int v) {
            bytes[at++] = (byte) v;
        }

        void u16(int v) {
            bytes[at++] = (byte) (v >>> 8);
            bytes[at++] = (byte) v;
        }

        void string(String s) {
            byte[] b = utf8(s);
            u16(b.length);
            System.arraycopy(b, 0, bytes, at, b.length);
            at += b.length;
        }

        void members(List<Member> ms) {
            u16(ms.size());
            for (Member m : ms) {
                string(m.id());
                string(m.address());
                u8(m.kind() == Kind.VOTER ? 0 : 1);
            }
        }
    }

    private static Set<String> idsOf(List<Member> ms, Kind kind) {
        Set<String> ids = new LinkedHashSet<>();
        for (Member m : ms) {
            if (m.kind() == kind) {
                ids.add(m.id());
            }
        }
        return Collections.unmodifiableSet(ids);
    }

    private static Kind kindIn(List<Member> ms, String id) {
        for (Member m : ms) {
            if (m.id().equals(id)) {
                return m.kind();
            }
        }
        return null;
    }

    private static void requireUniqueIds(List<Member> ms, String what) {
        if (ms.size() > 0xffff) {
            throw new IllegalArgumentException("more than 65535 " + what);
        }
        Set<String> ids = new java.util.HashSet<>();
        for (Member m : ms) {
            if (!ids.add(m.id())) {
                throw new IllegalArgumentException(m.id() + " appears twice among the " + what);
            }
        }
    }

    private static byte[] utf8(String s) {
        return Utf8.encode(s);
    }

    /**
     * Strict UTF-8 by hand: the pure core may not use {@code java.nio} (CorePurityTest), where the
     * JDK's charsets live. Ids and addresses are short, so speed does not matter.
     */
    static final class Utf8 {
        private Utf8() {
        }

        /** The UTF-8 bytes of {@code s}; an unpaired surrogate is refused. */
        static byte[] encode(String s) {
            byte[] out = new byte[s.length() * 4];
            int n = 0;
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                if (cp >= 0xd800 && cp <= 0xdfff) {
                    throw new IllegalArgumentException("unpaired surrogate in " + s);
                }
                i += Character.charCount(cp);
                if (cp < 0x80) {
                    out[n++] = (byte) cp;
                } else if (cp < 0x800) {
                    out[n++] = (byte) (0xc0 | cp >> 6);
                    out[n++] = (byte) (0x80 | cp & 0x3f);
                } else if (cp < 0x10000) {
                    out[n++] = (byte) (0xe0 | cp >> 12);
                    out[n++] = (byte) (0x80 | cp >> 6 & 0x3f);
                    out[n++] = (byte) (0x80 | cp & 0x3f);
                } else {
                    out[n++] = (byte) (0xf0 | cp >> 18);
                    out[n++] = (byte) (0x80 | cp >> 12 & 0x3f);
                    out[n++] = (byte) (0x80 | cp >> 6 & 0x3f);
                    out[n++] = (byte) (0x80 | cp & 0x3f);
                }
            }
            return java.util.Arrays.copyOf(out, n);
        }

        /** The string {@code len} bytes at {@code off} encode, or null if they are not strict UTF-8. */
        static String decode(byte[] b, int off, int len) {
            StringBuilder s = new StringBuilder(len);
            int i = off;
            int end = off + len;
            while (i < end) {
                int b0 = b[i] & 0xff;
                int need;
                int cp;
                int min;
                if (b0 < 0x80) {
                    s.append((char) b0);
                    i++;
                    continue;
                } else if (b0 >= 0xc2 && b0 <= 0xdf) {
                    need = 1;
                    cp = b0 & 0x1f;
                    min = 0x80;
                } else if (b0 >= 0xe0 && b0 <= 0xef) {
                    need = 2;
                    cp = b0 & 0x0f;
                    min = 0x800;
                } else if (b0 >= 0xf0 && b0 <= 0xf4) {
                    need = 3;
                    cp = b0 & 0x07;
                    min = 0x10000;
                } else {
                    return null;
                }
                if (end - i <= need) {
                    return null;
                }
                for (int k = 1; k <= need; k++) {
                    int c = b[i + k] & 0xff;
                    if ((c & 0xc0) != 0x80) {
                        return null;
                    }
                    cp = cp << 6 | c & 0x3f;
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
                    return null; // overlong, beyond Unicode, or a surrogate
                }
                s.appendCodePoint(cp);
                i += need + 1;
            }
            return s.toString();
        }
    }

    @Override
    public String toString() {
        return isJoint() ? "C_old,new{old=" + describe(outgoing) + " new=" + describe(members) + "}"
                : "C{" + describe(members) + "}";
    }

    private static String describe(List<Member> ms) {
        StringBuilder s = new StringBuilder();
        for (Member m : ms) {
            if (s.length() > 0) {
                s.append(' ');
            }
            s.append(m.id()).append(m.kind() == Kind.LEARNER ? "(learner)" : "");
        }
        return s.toString();
    }
}
