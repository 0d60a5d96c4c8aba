package org.raftkit.spi;

import java.util.Objects;

/**
 * Records which cluster and which node a node's data belongs to, so that data is never used by
 * another node or in another cluster (a data directory copied to the wrong machine, a node started
 * with the wrong id, or pointed at another cluster would otherwise corrupt both).
 *
 * <p>Written once: when the node bootstraps a cluster or first starts to join one
 * ({@code RaftServer.Builder.build}). Checked at every later start: another node id, or another
 * cluster id than the one the application expects, refuses to build the server.
 *
 * <p>Both methods are called once, on the thread that builds the server, before any loop runs;
 * they may block. {@link #save} must be durable (and atomic: after a crash the old record or the
 * new one, never a mix) when it returns. An exception from either fails the build.
 */
public interface IdentityStore extends AutoCloseable {

    /** The recorded identity, or null if this node's data has none yet. */
    Identity load();

    /** Records {@code identity} durably and atomically. */
    void save(Identity identity);

    @Override
    void close();

    /**
     * Whose data this is.
     *
     * @param clusterId the cluster it belongs to (generated when the cluster was bootstrapped)
     * @param nodeId    the node it belongs to
     */
    record Identity(String clusterId, String nodeId) {
        public Identity {
            Objects.requireNonNull(clusterId, "clusterId");
            Objects.requireNonNull(nodeId, "nodeId");
            if (clusterId.isEmpty() || nodeId.isEmpty()) {
                throw new IllegalArgumentException("cluster id and node id are never empty");
            }
        }
    }
}
