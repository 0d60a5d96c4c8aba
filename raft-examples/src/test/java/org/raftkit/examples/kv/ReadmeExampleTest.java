package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.raftkit.RaftConfig;
import org.raftkit.RaftServer;
import org.raftkit.StateMachine;
import org.raftkit.storage.FileTermVoteStore;
import org.raftkit.storage.SegmentedLogStorage;
import org.raftkit.transport.netty.NettyTransport;
import org.raftkit.transport.netty.NettyTransportConfig;

/** The README's embedding example, as written there, on three loopback nodes: it must compile and work. */
class ReadmeExampleTest {

    /** A replicated counter: every node applies the same commands in the same order. */
    static final class Counter implements StateMachine {
        private long value;

        @Override
        public byte[] apply(long index, byte[] command) {
            value += ByteBuffer.wrap(command).getLong();
            return ByteBuffer.allocate(8).putLong(value).array();
        }

        @Override
        public byte[] query(byte[] query) {
            return ByteBuffer.allocate(8).putLong(value).array();
        }
    }

    @TempDir
    Path base;

    @Test
    void theReadmeCounterRunsOnThreeNodes() throws Exception {
        Map<String, InetSocketAddress> peers = new LinkedHashMap<>();
        for (String id : List.of("n1", "n2", "n3")) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                peers.put(id, new InetSocketAddress("127.0.0.1", s.getLocalPort()));
            }
        }
        List<RaftServer> servers = new ArrayList<>();
        try {
            for (String id : peers.keySet()) {
                servers.add(start(id, peers, base.resolve(id)));
            }
            RaftServer server = servers.get(1);
            byte[] after = server.submit(ByteBuffer.allocate(8).putLong(5).array()).get(20, TimeUnit.SECONDS);
            byte[] now = servers.get(2).read(new byte[0]).get(20, TimeUnit.SECONDS);
            assertThat(ByteBuffer.wrap(after).getLong()).isEqualTo(5);
            assertThat(ByteBuffer.wrap(now).getLong()).isEqualTo(5);
        } finally {
            servers.forEach(RaftServer::close);
        }
    }

    private static RaftServer start(String id, Map<String, InetSocketAddress> peers, Path dir) throws IOException {
        RaftServer server = RaftServer.builder()
                .id(id).peers(peers.keySet())
                .stateMachine(new Counter())
                .logStorage(SegmentedLogStorage.open(dir.resolve("log")))
                .termVoteStore(FileTermVoteStore.open(dir))
                .transport(NettyTransport.create(NettyTransportConfig.builder()
                        .clusterId("counter").nodeId(id).peers(peers).build()))
                .config(RaftConfig.defaults())
                .build();
        server.start();
        return server;
    }
}
