package org.raftkit.metrics;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.JMException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * {@link RaftMetrics} as JMX MBeans, readable with JConsole, VisualVM or any JMX exporter. One MBean
 * per tag set, named {@code org.raftkit:type=Raft,node=n1} (and {@code …,peer=n2} for per-follower
 * metrics); each metric is an attribute of type {@code long} named as the metric
 * ({@code raftkit.commits}). A distribution is six attributes: {@code <name>.count}, {@code .sum},
 * {@code .max}, {@code .p50}, {@code .p99}, {@code .p999} (quantiles from power-of-two buckets, so
 * at most twice the true value).
 *
 * <p>Needs no dependency beyond the JDK. {@link #close()} unregisters the MBeans; one instance may
 * serve several nodes in one JVM (their {@code node} tags differ).
 */
public final class JmxMetrics implements RaftMetrics, AutoCloseable {

    private final MBeanServer server;
    private final Map<String, Bean> beans = new ConcurrentHashMap<>();

    /** Registers on the platform MBean server. */
    public JmxMetrics() {
        this(ManagementFactory.getPlatformMBeanServer());
    }

    /** Registers on {@code server}. */
    public JmxMetrics(MBeanServer server) {
        this.server = server;
    }

    @Override
    public Counter counter(String name, String description, Map<String, String> tags) {
        LongAdder adder = new LongAdder();
        bean(tags).add(name, description, adder::sum);
        return adder::add;
    }

    @Override
    public void counter(String name, String description, Map<String, String> tags, LongSupplier total) {
        bean(tags).add(name, description, total);
    }

    @Override
    public void gauge(String name, Unit unit, String description, Map<String, String> tags, LongSupplier value) {
        bean(tags).add(name, description + unitNote(unit), value);
    }

    @Override
    public Distribution distribution(String name, Unit unit, String description, Map<String, String> tags) {
        Log2Histogram h = new Log2Histogram();
        Bean bean = bean(tags);
        String d = description + unitNote(unit);
        bean.add(name + ".count", d + ": values recorded", h::count);
        bean.add(name + ".sum", d + ": sum of values", h::sum);
        bean.add(name + ".max", d + ": largest value", h::max);
        bean.add(name + ".p50", d + ": median (bucket bound)", () -> h.quantile(0.5));
        bean.add(name + ".p99", d + ": 99th percentile (bucket bound)", () -> h.quantile(0.99));
        bean.add(name + ".p999", d + ": 99.9th percentile (bucket bound)", () -> h.quantile(0.999));
        return h;
    }

    /** Unregisters every MBean this instance registered. */
    @Override
    public void close() {
        for (Bean b : beans.values()) {
            try {
                if (server.isRegistered(b.name)) {
                    server.unregisterMBean(b.name);
                }
            } catch (JMException e) {
                // Already gone: nothing to undo.
            }
        }
        beans.clear();
    }

    /** The ObjectName metrics with these tags are attributes of. */
    public static ObjectName objectName(Map<String, String> tags) {
        StringBuilder b = new StringBuilder("org.raftkit:type=Raft");
        new TreeMap<>(tags).forEach((k, v) -> b.append(',').append(k).append('=').append(ObjectName.quote(v)));
        try {
            return new ObjectName(b.toString());
        } catch (JMException e) {
            throw new IllegalArgumentException("tags " + tags + " make no valid JMX name", e);
        }
    }

    private static String unitNote(Unit unit) {
        return unit == Unit.NONE ? "" : " (" + unit.name().toLowerCase(java.util.Locale.ROOT) + ")";
    }

    private Bean bean(Map<String, String> tags) {
        ObjectName name = objectName(tags);
        return beans.computeIfAbsent(name.getCanonicalName(), k -> {
            Bean bean = new Bean(name);
            try {
                if (server.isRegistered(name)) {
                    server.unregisterMBean(name); // a node of the same id closed without close(): replace it
                }
                server.registerMBean(bean, name);
            } catch (JMException e) {
                throw new IllegalStateException("cannot register " + name + " with JMX", e);
            }
            return bean;
        });
    }

    /** One MBean: attributes added while the node is built, read by JMX clients. */
    private static final class Bean implements DynamicMBean {
        private final ObjectName name;
        private final Map<String, LongSupplier> values = new ConcurrentHashMap<>();
        private final Map<String, String> descriptions = new ConcurrentHashMap<>();

        Bean(ObjectName name) {
            this.name = name;
        }

        void add(String attribute, String description, LongSupplier value) {
            values.put(attribute, value);
            descriptions.put(attribute, description);
        }

        @Override
        public Object getAttribute(String attribute) throws AttributeNotFoundException {
            LongSupplier v = values.get(attribute);
            if (v == null) {
                throw new AttributeNotFoundException(attribute);
            }
            return v.getAsLong();
        }

        @Override
        public AttributeList getAttributes(String[] attributes) {
            AttributeList list = new AttributeList();
            for (String a : attributes) {
                LongSupplier v = values.get(a);
                if (v != null) {
                    list.add(new Attribute(a, v.getAsLong()));
                }
            }
            return list;
        }

        @Override
        public void setAttribute(Attribute attribute) {
            throw new UnsupportedOperationException("RaftKit metrics are read-only");
        }

        @Override
        public AttributeList setAttributes(AttributeList attributes) {
            return new AttributeList();
        }

        @Override
        public Object invoke(String actionName, Object[] params, String[] signature) {
            throw new UnsupportedOperationException("RaftKit metrics have no operations");
        }

        @Override
        public MBeanInfo getMBeanInfo() {
            List<MBeanAttributeInfo> attributes = new ArrayList<>();
            new TreeMap<>(descriptions).forEach((a, d) ->
                    attributes.add(new MBeanAttributeInfo(a, "long", d, true, false, false)));
            return new MBeanInfo(JmxMetrics.class.getName(), "RaftKit metrics of " + name,
                    attributes.toArray(new MBeanAttributeInfo[0]), null, null, null);
        }
    }
}
