/**
 * The runtime that drives the pure core ({@link org.raftkit.core.RaftNode}) with real threads.
 * Internal: applications use {@link org.raftkit.RaftServer}.
 *
 * <h2>Threads (one set per node)</h2>
 * <ul>
 *   <li>{@code raftkit-<id>-raft} ({@link org.raftkit.runtime.RaftThread}): the only thread that
 *       touches the {@code RaftNode}. Drains its {@link org.raftkit.runtime.Inbox} (client calls,
 *       inbound messages, persisted/applied reports), ticks the core every
 *       {@code RaftConfig.tickMillis()}, takes each {@code Ready} and hands its parts out in the
 *       order the {@code Ready} Javadoc gives. Never blocks on I/O or on the state machine.</li>
 *   <li>{@code raftkit-<id>-storage} ({@link org.raftkit.runtime.StorageWriter}): writes term,
 *       vote and entries with group commit (one sync for everything queued), then sends the
 *       messages that had to wait for that durability.</li>
 *   <li>{@code raftkit-<id>-apply} ({@link org.raftkit.runtime.Applier}): applies committed
 *       entries to the state machine, completes the proposers' futures and answers reads.</li>
 * </ul>
 * Other threads (callers, the transport's) only enqueue work for these three.
 *
 * <h2>Failure</h2>
 * A storage exception, a state machine exception while applying, or a broken core invariant stops
 * the node (fail-stop): every pending call fails with {@link org.raftkit.ServerClosedException}
 * carrying the cause, and the node sends nothing more.
 */
package org.raftkit.runtime;
