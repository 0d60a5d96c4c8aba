package org.raftkit.examples.kv;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

import org.raftkit.ClusterConfiguration;
import org.raftkit.LeadershipTransferException;
import org.raftkit.MembershipChangeException;
import org.raftkit.NotLeaderException;
import org.raftkit.RaftServer;
import org.raftkit.core.Configuration;

/**
 * The membership endpoints of docs/OPERATIONS.md ("Membership"): {@code GET /v1/members},
 * {@code GET /v1/members/{id}}, {@code POST /v1/members}, {@code POST /v1/members/{id}/promote}, {@code DELETE /v1/members/{id}}
 * and {@code POST /v1/leader}. Each change is one call on {@link RaftServer}, which serves it on the
 * leader only: on another node the answer is 503 {@code not_leader} naming the leader, so a client
 * that moves on at 503 (the CLI does) reaches it. A refused change leaves the configuration as it
 * was; {@link #refused} says which status each reason gets.
 */
final class MembersApi {

    static final String MEMBERS_PATH = "/v1/members";
    static final String LEADER_PATH = "/v1/leader";
    /** Ids the API accepts: what fits a URL path segment and a log line without escaping. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    /** Between two tries to promote a voter added with {@code "learner":false} while it catches up. */
    private static final long PROMOTE_RETRY_MILLIS = 100;

    private final RaftServer server;
    /**
     * Raft addresses from this node's {@code --peers}: shown for members that the configuration
     * names by id alone (the initial members of a cluster started with a fixed member list).
     */
    private final Map<String, String> configuredAddresses;
    /** How long {@code POST /v1/members} with {@code "learner":false} waits for the learner to catch up. */
    private final long promoteWaitMillis;

    MembersApi(RaftServer server, Map<String, String> configuredAddresses, long promoteWaitMillis) {
        this.server = server;
        this.configuredAddresses = Map.copyOf(configuredAddresses);
        this.promoteWaitMillis = promoteWaitMillis;
    }

    /** Whether {@code path} is one of these endpoints. */
    static boolean handles(String path) {
        return path.equals(MEMBERS_PATH) || path.startsWith(MEMBERS_PATH + "/") || path.equals(LEADER_PATH);
    }

    /** Answers a request for one of these endpoints ({@link #handles}); never throws. */
    CompletableFuture<FullHttpResponse> route(FullHttpRequest request, String path, HttpMethod method) {
        try {
            return answer(routeOrThrow(request, path, method));
        } catch (IllegalArgumentException e) {
            return done(KvHttpHandler.error(HttpResponseStatus.BAD_REQUEST, "bad_request", e.getMessage()));
        }
    }

    private CompletableFuture<FullHttpResponse> routeOrThrow(FullHttpRequest request, String path, HttpMethod method) {
        if (path.equals(LEADER_PATH)) {
            if (!method.equals(HttpMethod.POST)) {
                return done(KvHttpHandler.methodNotAllowed("POST"));
            }
            String target = id(requiredString(body(request), "id"));
            return server.transferLeadership(target).thenApply(leader -> KvHttpHandler.json(HttpResponseStatus.OK,
                    "{\"leader\":" + Json.quote(leader) + "}"));
        }
        if (path.equals(MEMBERS_PATH)) {
            if (method.equals(HttpMethod.GET)) {
                return done(KvHttpHandler.json(HttpResponseStatus.OK, membersJson(server.configuration())));
            }
            if (!method.equals(HttpMethod.POST)) {
                return done(KvHttpHandler.methodNotAllowed("GET, HEAD, POST"));
            }
            Map<String, Object> body = body(request);
            String id = id(requiredString(body, "id"));
            String raft = raftAddress(requiredString(body, "raft"));
            Object learner = body.get("learner");
            if (learner != null && !(learner instanceof Boolean)) {
                throw new IllegalArgumentException("\"learner\" must be true or false");
            }
            CompletableFuture<ClusterConfiguration> added = server.addLearner(id, raft);
            if (Boolean.TRUE.equals(learner)) {
                return added.thenApply(this::membersOk);
            }
            // A new voter is a learner first (the library refuses any other): it must catch up
            // before it counts in a quorum, or adding it could stall commits (thesis §4.2.1).
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(promoteWaitMillis);
            return added.thenCompose(c -> promoteOnceCaughtUp(id, deadline)).thenApply(this::membersOk);
        }
        String rest = path.substring(MEMBERS_PATH.length() + 1);
        if (rest.endsWith("/promote")) {
            String id = id(rest.substring(0, rest.length() - "/promote".length()));
            if (!method.equals(HttpMethod.POST)) {
                return done(KvHttpHandler.methodNotAllowed("POST"));
            }
            return server.promote(id).thenApply(this::membersOk);
        }
        String id = id(rest);
        if (method.equals(HttpMethod.GET)) {
            return member(id);
        }
        if (!method.equals(HttpMethod.DELETE)) {
            return done(KvHttpHandler.methodNotAllowed("GET, HEAD, DELETE"));
        }
        return server.removeMember(id).thenApply(this::membersOk);
    }

    /**
     * {@code GET /v1/members/{id}}: what this node knows of one member, from its own state without
     * asking the leader (so it answers while the cluster has none):
     * {@code {"id":"n3","kind":"voter","raft":"host:port","configurationIndex":N,"startedAt":I}},
     * {@code kind} and {@code raft} null if the configuration this node uses does not name it,
     * {@code startedAt} the index of the entry that first recorded that the node ran as a member
     * (null if none has; see {@link DataLossGuard}). A node whose data is empty asks its peers this
     * before it starts.
     */
    private CompletableFuture<FullHttpResponse> member(String id) {
        ClusterConfiguration c = server.configuration();
        Configuration.Member m = c.members().stream().filter(x -> x.id().equals(id)).findFirst().orElse(null);
        return server.staleRead(KvCommand.startedMembers()).thenApply(answer -> {
            Long startedAt = KvCommand.decodeStarted(KvCommand.decodeResult(answer).value()).get(id);
            return KvHttpHandler.json(HttpResponseStatus.OK, "{\"id\":" + Json.quote(id)
                    + ",\"kind\":" + (m == null ? "null" : Json.quote(kind(m.kind())))
                    + ",\"raft\":" + (m == null ? "null" : Json.quote(addressOf(m)))
                    + ",\"configurationIndex\":" + c.index()
                    + ",\"startedAt\":" + (startedAt == null ? "null" : startedAt.toString()) + "}");
        });
    }

    /**
     * Promotes {@code id}, trying again every {@link #PROMOTE_RETRY_MILLIS} while the library says
     * a retry may succeed (the learner is still catching up, its addition is still committing) and
     * the deadline has not passed; then the last refusal stands (the learner stays a learner).
     */
    private CompletableFuture<ClusterConfiguration> promoteOnceCaughtUp(String id, long deadlineNanos) {
        return server.promote(id).handle((c, failure) -> {
            if (failure == null) {
                return CompletableFuture.completedFuture(c);
            }
            Throwable cause = unwrap(failure);
            if (cause instanceof MembershipChangeException refusal && refusal.reason().retryable()
                    && System.nanoTime() < deadlineNanos) {
                return CompletableFuture.supplyAsync(() -> null,
                                CompletableFuture.delayedExecutor(PROMOTE_RETRY_MILLIS, TimeUnit.MILLISECONDS))
                        .thenCompose(ignored -> promoteOnceCaughtUp(id, deadlineNanos));
            }
            return CompletableFuture.<ClusterConfiguration>failedFuture(cause);
        }).thenCompose(f -> f);
    }

    /** Turns the refusals of membership calls into their answers; other failures go on to the caller's mapping. */
    private static CompletableFuture<FullHttpResponse> answer(CompletableFuture<FullHttpResponse> call) {
        return call.handle((response, failure) -> {
            if (failure == null) {
                return done(response);
            }
            Throwable cause = unwrap(failure);
            if (cause instanceof NotLeaderException notLeader) {
                return done(notLeader(notLeader.leaderId()));
            }
            if (cause instanceof MembershipChangeException refusal) {
                return done(refused(refusal));
            }
            if (cause instanceof LeadershipTransferException transfer) {
                return done(transferFailed(transfer));
            }
            return CompletableFuture.<FullHttpResponse>failedFuture(cause);
        }).thenCompose(f -> f);
    }

    /**
     * 503 {@code not_leader} with the leader's id in {@code "leader"} (null if none is known):
     * nothing changed, and the same request at the leader may succeed.
     */
    private static FullHttpResponse notLeader(String leaderId) {
        String message = leaderId == null ? "this node is not the leader and knows of none; retry shortly"
                : "this node is not the leader; membership changes are served by the leader " + leaderId;
        FullHttpResponse r = KvHttpHandler.json(HttpResponseStatus.SERVICE_UNAVAILABLE, "{\"error\":\"not_leader\","
                + "\"message\":" + Json.quote(message) + ",\"leader\":" + Json.quote(leaderId) + "}");
        r.headers().set(HttpHeaderNames.RETRY_AFTER, KvHttpHandler.RETRY_AFTER_SECONDS);
        return r;
    }

    /**
     * A refused change; the configuration is unchanged. The error code is the reason in lower
     * case. Reasons a retry may cure (another change in flight, the learner catching up, a leader
     * just elected or handing over) are 503 with Retry-After; {@code not_a_member} is 404;
     * {@code invalid_configuration} is 422; the others (already a member, not a learner, the last
     * voter, the configuration changed or unchanged) conflict with the configuration: 409.
     */
    static FullHttpResponse refused(MembershipChangeException refusal) {
        MembershipChangeException.Reason reason = refusal.reason();
        String code = reason.name().toLowerCase(java.util.Locale.ROOT);
        HttpResponseStatus status;
        if (reason.retryable() || reason == MembershipChangeException.Reason.NOT_A_MEMBER_HERE) {
            status = HttpResponseStatus.SERVICE_UNAVAILABLE;
        } else if (reason == MembershipChangeException.Reason.NOT_A_MEMBER) {
            status = HttpResponseStatus.NOT_FOUND;
        } else if (reason == MembershipChangeException.Reason.INVALID_CONFIGURATION) {
            status = HttpResponseStatus.UNPROCESSABLE_ENTITY;
        } else {
            status = HttpResponseStatus.CONFLICT;
        }
        FullHttpResponse r = KvHttpHandler.error(status, code, "the configuration is unchanged: "
                + refusal.getMessage());
        if (status.equals(HttpResponseStatus.SERVICE_UNAVAILABLE)) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, KvHttpHandler.RETRY_AFTER_SECONDS);
        }
        return r;
    }

    /**
     * A transfer that did not make its target the leader: 409 when the target is not a voter (or
     * left), 503 with Retry-After when a retry may work (another transfer under way, the target did
     * not win in time), 409 {@code another_leader} naming the leader that was elected instead.
     */
    static FullHttpResponse transferFailed(LeadershipTransferException e) {
        String code = e.reason().name().toLowerCase(java.util.Locale.ROOT);
        HttpResponseStatus status = switch (e.reason()) {
            case TRANSFER_IN_PROGRESS, TIMED_OUT -> HttpResponseStatus.SERVICE_UNAVAILABLE;
            case TARGET_NOT_A_VOTER, TARGET_REMOVED, ANOTHER_LEADER -> HttpResponseStatus.CONFLICT;
        };
        FullHttpResponse r = KvHttpHandler.json(status, "{\"error\":" + Json.quote(code) + ",\"message\":"
                + Json.quote("leadership was not transferred: " + e.getMessage()) + ",\"leader\":"
                + Json.quote(e.leaderId()) + "}");
        if (status.equals(HttpResponseStatus.SERVICE_UNAVAILABLE)) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, KvHttpHandler.RETRY_AFTER_SECONDS);
        }
        return r;
    }

    private FullHttpResponse membersOk(ClusterConfiguration c) {
        return KvHttpHandler.json(HttpResponseStatus.OK, membersJson(c));
    }

    /**
     * {@code {"index":N,"joint":false,"members":[{"id":"n1","raft":"host:port","kind":"voter"},…]}}:
     * the members of the configuration in use (C<sub>new</sub> while joint), the raft address from
     * {@code --peers} for members the configuration names without one ({@code null} if none).
     */
    String membersJson(ClusterConfiguration c) {
        StringBuilder b = new StringBuilder("{\"index\":").append(c.index())
                .append(",\"joint\":").append(c.isJoint()).append(",\"members\":[");
        boolean first = true;
        for (Configuration.Member m : c.members()) {
            b.append(first ? "" : ",").append("{\"id\":").append(Json.quote(m.id()))
                    .append(",\"raft\":").append(Json.quote(addressOf(m)))
                    .append(",\"kind\":").append(Json.quote(kind(m.kind()))).append('}');
            first = false;
        }
        return b.append("]}").toString();
    }

    /** {@code "voter"} or {@code "learner"}, as the API spells a member's kind. */
    static String kind(Configuration.Kind kind) {
        return kind.name().toLowerCase(java.util.Locale.ROOT);
    }

    private String addressOf(Configuration.Member m) {
        return m.address().isEmpty() ? configuredAddresses.get(m.id()) : m.address();
    }

    private static Map<String, Object> body(FullHttpRequest request) {
        String text = request.content().toString(StandardCharsets.UTF_8);
        try {
            return Json.parseFlatObject(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the body must be a JSON object like {\"id\":\"n4\",\"raft\":"
                    + "\"10.0.0.4:7001\",\"learner\":true}: " + e.getMessage());
        }
    }

    private static String requiredString(Map<String, Object> body, String field) {
        Object value = body.get(field);
        if (!(value instanceof String s)) {
            throw new IllegalArgumentException("the body needs \"" + field + "\" as a string");
        }
        return s;
    }

    private static String id(String id) {
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("a member id is 1 to 64 of A-Z a-z 0-9 . _ -, was " + Json.quote(id));
        }
        return id;
    }

    /** {@code host:port} with a port in 1-65535 ({@code [v6]:port} too); not resolved here. */
    static String raftAddress(String address) {
        int colon = address.lastIndexOf(':');
        String host = colon <= 0 ? "" : address.substring(0, colon);
        int port;
        try {
            port = colon <= 0 ? -1 : Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        boolean hostOk = !host.isEmpty() && host.chars().noneMatch(ch -> ch <= ' ' || ch == '/' || ch == '@')
                && (host.indexOf(':') < 0 || host.startsWith("[") && host.endsWith("]"));
        if (!hostOk || port < 1 || port > 65535) {
            throw new IllegalArgumentException("\"raft\" must be host:port with a port in 1-65535, was "
                    + Json.quote(address));
        }
        return address;
    }

    private static Throwable unwrap(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    }

    private static CompletableFuture<FullHttpResponse> done(FullHttpResponse r) {
        return CompletableFuture.completedFuture(r);
    }
}
