package org.raftkit.examples.compat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import org.raftkit.RaftConfig;
import org.raftkit.RaftServer;
import org.raftkit.Role;
import org.raftkit.StateMachine;
import org.raftkit.runtime.Await;
import org.raftkit.storage.FileTermVoteStore;
import org.raftkit.storage.SegmentedLogStorage;
import org.raftkit.transport.netty.NettyTransport;
import org.raftkit.transport.netty.NettyTransportConfig;

/**
 * Runs inside {@link ShadedProtobufTest}'s class loader, where protobuf-java is 3.5.1 and RaftKit's
 * transport is the shaded jar: uses the old protobuf API as an application would, then starts
 * three nodes on loopback and commits a command through the leader. Returns a one-line summary;
 * any failure throws.
 */
public final class CompatProbe {

    private CompatProbe() {
    }

    /** Called reflectively by the test. */
    public static String run() throws Exception {
        // The application's own protobuf: 3.5.1's API, from 3.5.1's jar.
        com.google.protobuf.Timestamp stamp = com.google.protobuf.Timestamp.newBuilder().setSeconds(42).build();
        byte[] bytes = stamp.toByteArray();
        if (com.google.protobuf.Timestamp.parseFrom(bytes).getSeconds() != 42) {
            throw new AssertionError("protobuf 3.5.1 round trip");
        }
        String protobufJar = com.google.protobuf.Message.class.getProtectionDomain().getCodeSource()
                .getLocation().getPath();

        Path dir = Files.createTempDirectory("raftkit-compat");
        Map<String, InetSocketAddress> peers = new LinkedHashMap<>();
        for (String id : List.of("n1", "n2", "n3")) {
            peers.put(id, freePort());
        }
        List<RaftServer> servers = new ArrayList<>();
        try {
            for (String id : peers.keySet()) {
                Path nodeDir = dir.resolve(id);
                servers.add(RaftServer.builder()
                        .id(id)
                        .peers(peers.keySet())
                        .stateMachine(new Echo())
                        .logStorage(SegmentedLogStorage.open(nodeDir.resolve("log")))
                        .termVoteStore(FileTermVoteStore.open(nodeDir))
                        .transport(NettyTransport.create(NettyTransportConfig.builder()
                                .clusterId("compat").nodeId(id).peers(peers).build()))
                        .config(RaftConfig.defaults())
                        .build());
            }
            servers.forEach(RaftServer::start);
            byte[] answer = submitOnLeader(servers, "hello".getBytes(StandardCharsets.UTF_8));
            return "committed '" + new String(answer, StandardCharsets.UTF_8) + "' with protobuf from " + protobufJar;
        } finally {
            servers.forEach(RaftServer::close);
        }
    }

    private static byte[] submitOnLeader(List<RaftServer> servers, byte[] command) {
        AtomicReference<byte[]> answer = new AtomicReference<>();
        Await.await(Duration.ofSeconds(30), () -> {
            for (RaftServer s : servers) {
                if (s.status().role() == Role.LEADER) {
                    try {
                        answer.set(s.submit(command).get(10, TimeUnit.SECONDS));
                        return true;
                    } catch (ExecutionException | TimeoutException e) {
                        return false; // lost leadership meanwhile: look again
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new AssertionError(e);
                    }
                }
            }
            return false;
        }, () -> "a leader to commit the command");
        return answer.get();
    }

    private static InetSocketAddress freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Answers each command with itself. */
    private static final class Echo implements StateMachine {
        @Override
        public byte[] apply(long index, byte[] command) {
            return command;
        }

        @Override
        public byte[] query(byte[] query) {
            return query;
        }
    }
}
