package org.raftkit.runtime;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

import org.raftkit.core.Configuration;
import org.raftkit.core.Configuration.Member;
import org.raftkit.message.Entry;
import org.raftkit.spi.IdentityStore;
import org.raftkit.spi.IdentityStore.Identity;
import org.raftkit.spi.LogStorage;
import org.raftkit.spi.SnapshotStore;
import org.raftkit.spi.TermVoteStore;
import org.raftkit.spi.TermVoteStore.TermAndVote;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a node's data begins (thesis §4.1 and the bootstrap of §4.4 in spirit): bootstrapping a new
 * cluster once from its initial members, joining one with no configuration, or going on from the
 * data already there; and the check that the data belongs to this node and this cluster. Called
 * once, while the server is built, before any loop runs.
 *
 * <ul>
 *   <li><b>Bootstrap</b> (empty data): the initial configuration, its members sorted by id so that
 *       every initial member writes the same bytes, becomes the log's entry 1 at term 1, and the
 *       term is saved as 1, as every initial member does alike: their logs match from the start,
 *       and the first election is at term 2. The identity (cluster id, node id) is recorded.</li>
 *   <li><b>Join</b> (empty data): nothing is written to the log; the node starts with
 *       {@link Configuration#EMPTY}, never campaigns, and takes part once a leader's configuration
 *       entry that names it reaches its log.</li>
 *   <li><b>Existing data</b>: the identity must match (another node id or cluster id refuses to
 *       start); the configuration comes from the log or the snapshot. Data without a recorded
 *       identity (written before identities existed) is adopted: the identity is recorded.</li>
 * </ul>
 * A node whose identity is recorded but whose log and term are empty has lost its Raft data: it
 * refuses to bootstrap again (a voter that forgot its votes and acknowledgements could elect a
 * leader without committed entries); it may start with join and be added again.
 */
public final class ClusterStart {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterStart.class);

    /** How the application asked the node to start. */
    public enum Mode {
        /** A fixed list of voters without addresses, as the configuration at index 0 ({@code peers}). */
        FIXED,
        /** Bootstrap a new cluster from its initial members if the data is empty. */
        BOOTSTRAP,
        /** Wait to be added if the data is empty. */
        JOIN
    }

    private ClusterStart() {
    }

    /**
     * The cluster id bootstrap records for {@code initial}: {@code name}, a dash and 16 hex digits
     * of a SHA-256 of the configuration's encoding (members sorted by id). Every initial member
     * computes the same id from the same members; another cluster, with other addresses, gets
     * another one.
     */
    public static String clusterIdFor(String name, Configuration initial) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(name.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(canonical(initial).encode());
            return name + "-" + HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    /** {@code c} with its members sorted by id, so that every initial member encodes it alike. */
    public static Configuration canonical(Configuration c) {
        List<Member> sorted = new ArrayList<>(c.members());
        sorted.sort(Comparator.comparing(Member::id));
        return Configuration.of(sorted);
    }

    /**
     * Prepares the data and returns the configuration at index 0 for the core: what applies until
     * an entry of the log (or the snapshot) says otherwise.
     *
     * @param clusterId the cluster id expected, or null to accept (and, for new data, not record) any
     * @param initial   FIXED and BOOTSTRAP: the initial members; JOIN: ignored
     * @throws IllegalStateException naming the data and both ids if it belongs to another node or
     *                               cluster, or if a node that lost its data is asked to bootstrap
     */
    public static Configuration prepare(String id, Mode mode, Configuration initial, String clusterId,
                                        IdentityStore identities, LogStorage log, TermVoteStore termVote,
                                        SnapshotStore snapshots) {
        Identity recorded = identities.load();
        if (recorded != null) {
            if (!recorded.nodeId().equals(id)) {
                throw new IllegalStateException("this data belongs to node " + recorded.nodeId() + " of cluster "
                        + recorded.clusterId() + ", not to " + id + ": start it with --id " + recorded.nodeId()
                        + ", or give " + id + " its own data directory");
            }
            if (clusterId != null && !recorded.clusterId().equals(clusterId)) {
                throw new IllegalStateException(id + "'s data belongs to cluster " + recorded.clusterId()
                        + ", not to " + clusterId + ": a node never moves between clusters; give it an empty data "
                        + "directory to join " + clusterId);
            }
        }
        boolean empty = log.lastIndex() == 0 && log.firstIndex() <= 1 && termVote.load().currentTerm() == 0
                && (snapshots == null || snapshots.list().isEmpty());
        if (!empty) {
            if (recorded == null && clusterId != null) {
                identities.save(new Identity(clusterId, id));
                LOG.info("{}: recorded identity (cluster {}) for data that had none", id, clusterId);
            }
            return mode == Mode.JOIN ? Configuration.EMPTY : initial;
        }
        switch (mode) {
            case FIXED -> {
                if (recorded == null && clusterId != null) {
                    identities.save(new Identity(clusterId, id));
                }
                return initial;
            }
            case JOIN -> {
                if (recorded == null && clusterId != null) {
                    identities.save(new Identity(clusterId, id));
                }
                LOG.info("{} starts with no configuration: it waits to be added by a leader of cluster {}", id,
                        clusterId == null ? "(any)" : clusterId);
                return Configuration.EMPTY;
            }
            default -> {
                if (recorded != null) {
                    throw new IllegalStateException(id + " was a member of cluster " + recorded.clusterId()
                            + " but its log and term are empty: its Raft data was lost. It must not bootstrap again "
                            + "(it would vote without remembering its votes); start it to join, and replace it or "
                            + "add it again from the leader");
                }
                Configuration c = canonical(initial);
                if (!c.isVoter(id)) {
                    throw new IllegalArgumentException(id + " bootstraps a cluster it is not a voter of: " + c);
                }
                // Every initial member writes the same entry 1 at term 1 and saves term 1, so their
                // logs match and none needs a snapshot or an entry from another to begin.
                log.append(List.of(Entry.configuration(1, 1, c.encode())));
                log.sync();
                termVote.save(new TermAndVote(1, null));
                if (clusterId != null) {
                    identities.save(new Identity(clusterId, id));
                }
                LOG.info("{} bootstrapped cluster {} with {}", id, clusterId == null ? "(unnamed)" : clusterId,
                        MembershipCalls.describe(c));
                return Configuration.EMPTY;
            }
        }
    }
}
