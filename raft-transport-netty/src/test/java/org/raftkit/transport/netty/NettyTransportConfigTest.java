package org.raftkit.transport.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The config record: defaults, this node's own entry, and refusal of values that cannot work. */
class NettyTransportConfigTest {

    private static final Map<String, InetSocketAddress> PEERS = Map.of(
            "n1", new InetSocketAddress("127.0.0.1", 7001),
            "n2", new InetSocketAddress("127.0.0.1", 7002),
            "n3", new InetSocketAddress("127.0.0.1", 7003));

    private static NettyTransportConfig.Builder valid() {
        return NettyTransportConfig.builder().clusterId("raft-kv").nodeId("n1").peers(PEERS);
    }

    @Test
    void thisNodesEntryIsItsListenAddressAndNotAPeer() {
        NettyTransportConfig c = valid().build();
        assertThat(c.listenAddress()).isEqualTo(PEERS.get("n1"));
        assertThat(c.peers()).containsOnlyKeys("n2", "n3");
        assertThat(c.maxFrameBytes()).isEqualTo(NettyTransportConfig.DEFAULT_MAX_FRAME_BYTES);
        assertThat(c.tls().enabled()).isFalse();
        assertThat(c.controlLaneBytes() + c.bulkLaneBytes()).isEqualTo(c.maxOutboundBytesPerPeer());
    }

    @Test
    void anExplicitListenAddressWins() {
        InetSocketAddress any = new InetSocketAddress(0);
        assertThat(valid().listenAddress(any).build().listenAddress()).isEqualTo(any);
    }

    @Test
    void valuesThatCannotWorkAreRefusedWithTheirName() {
        assertThatThrownBy(() -> valid().clusterId(" ").build()).hasMessageContaining("clusterId");
        assertThatThrownBy(() -> valid().nodeId("n9").build()).hasMessageContaining("no listenAddress");
        assertThatThrownBy(() -> valid().maxFrameBytes(10).build()).hasMessageContaining("maxFrameBytes");
        assertThatThrownBy(() -> valid().maxFrameBytes(1 << 20).maxOutboundBytesPerPeer(1 << 20).build())
                .hasMessageContaining("maxOutboundBytesPerPeer");
        assertThatThrownBy(() -> valid().handshakeTimeoutMillis(0).build()).hasMessageContaining("handshakeTimeoutMillis");
        assertThatThrownBy(() -> valid().reconnectBackoffMillis(100, 10).build())
                .hasMessageContaining("reconnectBackoffMaxMillis");
        assertThatThrownBy(() -> valid().ioThreads(0).build()).hasMessageContaining("ioThreads");
    }
}
