package org.raftkit.examples.kv;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;

import org.raftkit.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a KV node whose data was lost from coming back as the voter it was.
 *
 * <p>Why: a voter promises two things on disk, its vote in each term and every entry it
 * acknowledged (Raft paper §5.2 and §5.4; thesis §3.8). A voter that lost its disk and came back
 * empty under the same id would break both: it could vote twice in a term, and it could help elect
 * a leader whose log lacks an entry that was committed with its own acknowledgement. The thesis's
 * answer (§4.1, §4.4) is that such a server rejoins only as a new member: removed, then added as a
 * learner that catches up before it is promoted.
 *
 * <p>A node cannot tell on its own that its data was lost: an emptied directory looks like a first
 * start. So the cluster remembers who has run: every node, once started, records "node X runs as a
 * member" in the replicated state ({@link KvCommand#memberStarted}, kept in snapshots), and a node
 * that starts with empty data first asks its peers ({@code GET /v1/members/{id}}, answered from each
 * peer's own state):
 * <ul>
 *   <li>started with a member list ({@code --peers}): if any peer says this id ran before, its
 *       data was lost, and it refuses to start;</li>
 *   <li>started with {@code --join}: if any peer's configuration still has this id as a voter, it
 *       refuses to start (a learner may catch up again: it never votes).</li>
 * </ul>
 * The refusal says what to do instead: remove the member, start it with {@code --join}, add it.
 *
 * <p>What it cannot see, said plainly: a node wiped between its first start and the commit of its
 * record (about one round trip once a leader is known); and a node restarted empty while none of
 * its peers answers over HTTP (the whole cluster down, or no {@code --http-peers}), which starts as a
 * new node would, saying so in its log. A node whose identity record survived but whose
 * Raft data did not is refused without asking anyone ({@link KvNode}).
 */
final class DataLossGuard {

    private static final Logger LOG = LoggerFactory.getLogger(DataLossGuard.class);
    /** How long one peer may take to answer the start check. */
    private static final Duration ASK_TIMEOUT = Duration.ofSeconds(2);
    /** Between two tries to record this node's start while no leader takes it. */
    private static final long RECORD_RETRY_MILLIS = 1000;

    private DataLossGuard() {
    }

    /** What one peer said of this node. */
    record Answer(String peer, String kind, Long startedAt, long configurationIndex) {
    }

    /**
     * The check a node with empty Raft data makes before it starts: asks every peer in
     * {@code httpPeers} but itself, and throws if one shows that this node ran before (see the
     * class comment). Blocks for at most {@link #ASK_TIMEOUT} per peer, in parallel.
     *
     * @param peerTrust the CAs to check peers' HTTPS against, or null for plain HTTP
     * @throws IllegalStateException naming the peer, what it said and what to do instead
     */
    static void checkEmptyStart(String id, boolean join, Path dataDir, Map<String, InetSocketAddress> httpPeers,
                                SSLContext peerTrust) {
        List<Answer> answers = ask(id, httpPeers, peerTrust);
        int asked = (int) httpPeers.keySet().stream().filter(p -> !p.equals(id)).count();
        for (Answer a : answers) {
            if (!join && a.startedAt() != null) {
                throw new IllegalStateException(id + "'s data directory " + dataDir + " is empty, but " + a.peer()
                        + " says " + id + " already ran as a member of this cluster (recorded at index "
                        + a.startedAt() + "): its data was lost. It must not come back as the voter it was: it has "
                        + "forgotten its votes and the entries it acknowledged, and could help elect a leader that "
                        + "lacks committed writes. To bring it back, remove it ('member remove --id " + id
                        + "'), start it with --join on an empty data directory, and add it again ('member add --id "
                        + id + " --raft HOST:PORT'); docs/OPERATIONS.md, \"Replacing a node\", shows each step");
            }
            if (join && "voter".equals(a.kind())) {
                throw new IllegalStateException(id + "'s data directory " + dataDir + " is empty, but " + a.peer()
                        + "'s configuration (index " + a.configurationIndex() + ") still has " + id
                        + " as a voter: its data was lost, and it must not take that voter's place. Remove it "
                        + "first ('member remove --id " + id + "'), then start it with --join again and add it "
                        + "('member add --id " + id + " --raft HOST:PORT')");
            }
        }
        if (asked > 0 && answers.isEmpty()) {
            // As every node of a new cluster does on its first start; said plainly, for the rare
            // node that lost its data while its whole cluster was down.
            LOG.info("{} starts with empty data; none of its {} peers answers yet (a new cluster's first start), so "
                    + "it starts as a new member. Had it run before and lost its data, it must be stopped: see "
                    + "docs/OPERATIONS.md, \"A node whose data was lost\"", id, asked);
        } else if (asked == 0) {
            LOG.warn("{} starts with empty data and without --http-peers, so it cannot ask whether it ran before; "
                    + "if its data was lost, stop it now: see docs/OPERATIONS.md, \"Replacing a node\"", id);
        } else {
            LOG.info("{} starts with empty data; {} of {} peers answered, none knows it as a member that ran", id,
                    answers.size(), asked);
        }
    }

    /** Asks every peer but {@code id} what it knows of {@code id}; peers that do not answer are left out. */
    private static List<Answer> ask(String id, Map<String, InetSocketAddress> httpPeers, SSLContext peerTrust) {
        HttpClient.Builder builder = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(ASK_TIMEOUT);
        if (peerTrust != null) {
            builder.sslContext(peerTrust);
        }
        HttpClient client = builder.build();
        String scheme = peerTrust == null ? "http" : "https";
        List<CompletableFuture<Answer>> calls = new ArrayList<>();
        httpPeers.forEach((peer, address) -> {
            if (peer.equals(id)) {
                return;
            }
            URI uri = URI.create(scheme + "://" + address.getHostString() + ":" + address.getPort()
                    + MembersApi.MEMBERS_PATH + "/" + id);
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(ASK_TIMEOUT).GET().build();
            calls.add(client.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                    .thenApply(r -> parse(peer, r))
                    .exceptionally(e -> {
                        LOG.debug("{} did not answer {}'s start check: {}", peer, id, e.toString());
                        return null;
                    }));
        });
        List<Answer> answers = new ArrayList<>();
        for (CompletableFuture<Answer> call : calls) {
            Answer a = call.join();
            if (a != null) {
                answers.add(a);
            }
        }
        return answers;
    }

    /** One peer's answer, or null if it was not one (an older version, an error status). */
    private static Answer parse(String peer, HttpResponse<String> response) {
        if (response.statusCode() != 200) {
            LOG.warn("{} answered the start check with {}: {}", peer, response.statusCode(), response.body());
            return null;
        }
        Map<String, Object> fields = Json.parseFlatObject(response.body());
        Object kind = fields.get("kind");
        Object startedAt = fields.get("startedAt");
        Object index = fields.get("configurationIndex");
        return new Answer(peer, kind == null ? null : kind.toString(),
                startedAt == null ? null : Long.valueOf(startedAt.toString()),
                index == null ? 0 : Long.parseLong(index.toString()));
    }

    /**
     * Records in the replicated state that {@code id} runs as a member, trying again every
     * {@link #RECORD_RETRY_MILLIS} until it is committed or the returned handle is closed. Called
     * once the server has started, on every start (a repeat changes nothing: the first record's
     * index stays). A node that waits to be added is recorded once a leader takes its call.
     */
    static AutoCloseable recordStart(RaftServer server, String id) {
        Recorder recorder = new Recorder(server, id);
        recorder.attempt();
        return recorder;
    }

    private static final class Recorder implements AutoCloseable {
        private final RaftServer server;
        private final String id;
        private volatile boolean closed;

        Recorder(RaftServer server, String id) {
            this.server = server;
            this.id = id;
        }

        void attempt() {
            if (closed) {
                return;
            }
            CompletableFuture<byte[]> call;
            try {
                call = server.submit(KvCommand.memberStarted(id));
            } catch (RuntimeException e) {
                call = CompletableFuture.failedFuture(e);
            }
            call.whenComplete((result, failure) -> {
                if (failure == null) {
                    LOG.info("{}: recorded that it runs as a member (first at index {})", id,
                            KvCommand.decodeResult(result).revision());
                } else if (!closed) {
                    LOG.debug("{}: recording that it runs as a member failed ({}); trying again", id, failure.toString());
                    CompletableFuture.delayedExecutor(RECORD_RETRY_MILLIS, TimeUnit.MILLISECONDS).execute(this::attempt);
                }
            });
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
