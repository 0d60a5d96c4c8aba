package org.raftkit.examples.kv;

import java.util.function.BiConsumer;

/**
 * A map from strings to values whose {@link #capture()} takes constant time: a hash array mapped
 * trie (Bagwell, "Ideal Hash Trees", 2001) whose nodes are shared between the live map and the
 * views captured from it.
 *
 * <h2>How a capture stays cheap</h2>
 * Every node records the {@link Owner} that created it. The live map changes a node in place only
 * if the node belongs to its current owner; any other node is copied first (with the path from the
 * root to it), and the copy belongs to the live map. {@link #capture()} hands out the current root
 * and gives the live map a new owner, so from then on no node reachable from the captured root is
 * ever changed again: the first write after a capture copies at most one path (a handful of nodes
 * of at most 32 slots, 7 at the deepest), and later writes to the same part of the trie change
 * those copies in place. Between captures the map therefore behaves much like a mutable hash map;
 * a capture costs one small allocation whatever the size.
 *
 * <h2>Threads</h2>
 * One thread owns the live map (in the KV store, the node's apply thread): {@link #get},
 * {@link #put}, {@link #remove}, {@link #size} and {@link #capture} are called on it only. A
 * {@link View} never changes, so any thread may read it, at the same time as the owner writes
 * on, once it was handed over with a happens-before edge (a concurrent queue, a thread start).
 *
 * <h2>Order</h2>
 * {@link View#forEach} visits entries in an order that depends only on the keys present, not on
 * the order they were written or removed in: by hash (its 5-bit groups from the lowest), then by
 * key among keys of equal hash. Two maps with the same entries therefore visit them alike.
 *
 * @param <V> the value type; values are shared, never copied, so they should be immutable
 */
final class HashTrieMap<V> {

    private static final int BITS_PER_LEVEL = 5;
    private static final int LEVEL_MASK = (1 << BITS_PER_LEVEL) - 1;

    /** Identity token of whoever may change a node in place. */
    private static final class Owner {
    }

    /** Root of the live map; null when empty. */
    private Node root;
    private int size;
    /** Nodes created under this token belong to the live map alone; replaced by each capture. */
    private Owner owner = new Owner();

    /** The value for {@code key}, or null. Owner's thread. */
    V get(String key) {
        return root == null ? null : cast(root.get(0, hash(key), key));
    }

    /**
     * Maps {@code key} to {@code value} (not null). Owner's thread.
     *
     * @return the value it replaced, or null
     */
    V put(String key, V value) {
        if (value == null) {
            throw new NullPointerException("value");
        }
        Change change = new Change();
        Node from = root == null ? BitmapNode.EMPTY : root;
        root = from.put(owner, 0, hash(key), key, value, change);
        if (change.previous == null) {
            size++;
        }
        return cast(change.previous);
    }

    /**
     * Removes {@code key}. Owner's thread.
     *
     * @return the value it had, or null if it had none
     */
    V remove(String key) {
        if (root == null) {
            return null;
        }
        Change change = new Change();
        root = root.remove(owner, 0, hash(key), key, change);
        if (change.previous != null) {
            size--;
        }
        return cast(change.previous);
    }

    /** Number of keys. Owner's thread. */
    int size() {
        return size;
    }

    /**
     * The map as it is now, unaffected by later writes. Constant time: see the class comment.
     * Owner's thread; the view may then be read on any thread.
     */
    View<V> capture() {
        View<V> view = new View<>(root, size);
        owner = new Owner();
        return view;
    }

    /**
     * A map frozen by {@link HashTrieMap#capture()}: never changes, safe to read on any thread.
     *
     * @param <V> the value type
     */
    static final class View<V> {
        private final Node root;
        private final int size;

        private View(Node root, int size) {
            this.root = root;
            this.size = size;
        }

        /** Number of keys. */
        int size() {
            return size;
        }

        /** The value for {@code key}, or null. */
        V get(String key) {
            return root == null ? null : cast(root.get(0, hash(key), key));
        }

        /** Visits every entry, in the order described in the class comment. */
        void forEach(BiConsumer<String, ? super V> visitor) {
            if (root != null) {
                root.forEach((key, value) -> visitor.accept(key, cast(value)));
            }
        }
    }

    /** Spreads the high bits into the low ones, which the top levels of the trie use. */
    private static int hash(String key) {
        int h = key.hashCode();
        return h ^ (h >>> 16);
    }

    @SuppressWarnings("unchecked")
    private static <V> V cast(Object value) {
        return (V) value;
    }

    /** What a put or remove found: the value it replaced or removed. */
    private static final class Change {
        Object previous;
    }

    private abstract static class Node {
        /** Whoever may change this node in place. */
        final Owner owner;

        Node(Owner owner) {
            this.owner = owner;
        }

        abstract Object get(int shift, int hash, String key);

        /** Returns the node that replaces this one: itself if changed in place or not changed. */
        abstract Node put(Owner by, int shift, int hash, String key, Object value, Change change);

        /** Returns the node that replaces this one, null if it is left empty. */
        abstract Node remove(Owner by, int shift, int hash, String key, Change change);

        abstract void forEach(BiConsumer<String, Object> visitor);
    }

    /**
     * Up to 32 slots, one per 5-bit group of the hash at this level, present as the bitmap says.
     * Slot {@code i} is {@code slots[2i]}, {@code slots[2i+1]}: a key and its value, or null and a
     * child node for the keys that share this level's group. Invariant: {@code slots.length >=
     * 2 * bitCount(bitmap)}; the slots past that are null (room to insert in place).
     */
    private static final class BitmapNode extends Node {
        static final BitmapNode EMPTY = new BitmapNode(null, 0, new Object[0]);

        private int bitmap;
        private Object[] slots;

        BitmapNode(Owner owner, int bitmap, Object[] slots) {
            super(owner);
            this.bitmap = bitmap;
            this.slots = slots;
        }

        private static int bit(int shift, int hash) {
            return 1 << ((hash >>> shift) & LEVEL_MASK);
        }

        private int position(int bit) {
            return Integer.bitCount(bitmap & (bit - 1));
        }

        @Override
        Object get(int shift, int hash, String key) {
            int bit = bit(shift, hash);
            if ((bitmap & bit) == 0) {
                return null;
            }
            int at = 2 * position(bit);
            Object k = slots[at];
            if (k == null) {
                return ((Node) slots[at + 1]).get(shift + BITS_PER_LEVEL, hash, key);
            }
            return key.equals(k) ? slots[at + 1] : null;
        }

        @Override
        Node put(Owner by, int shift, int hash, String key, Object value, Change change) {
            int bit = bit(shift, hash);
            int at = 2 * position(bit);
            if ((bitmap & bit) == 0) {
                return insert(by, bit, at, key, value);
            }
            Object k = slots[at];
            Object v = slots[at + 1];
            if (k == null) {
                Node child = (Node) v;
                Node changed = child.put(by, shift + BITS_PER_LEVEL, hash, key, value, change);
                return changed == child ? this : editable(by).set(at + 1, changed);
            }
            if (key.equals(k)) {
                change.previous = v;
                return editable(by).set(at + 1, value);
            }
            // Two keys share this level's group: push both one level down.
            Node pair = pair(by, shift + BITS_PER_LEVEL, (String) k, v, hash, key, value);
            BitmapNode e = editable(by);
            e.slots[at] = null;
            e.slots[at + 1] = pair;
            return e;
        }

        @Override
        Node remove(Owner by, int shift, int hash, String key, Change change) {
            int bit = bit(shift, hash);
            if ((bitmap & bit) == 0) {
                return this;
            }
            int at = 2 * position(bit);
            Object k = slots[at];
            if (k == null) {
                Node child = (Node) slots[at + 1];
                Node changed = child.remove(by, shift + BITS_PER_LEVEL, hash, key, change);
                if (changed == child) {
                    return this;
                }
                if (changed != null) {
                    return editable(by).set(at + 1, changed);
                }
                return without(by, bit, at);
            }
            if (!key.equals(k)) {
                return this;
            }
            change.previous = slots[at + 1];
            return without(by, bit, at);
        }

        @Override
        void forEach(BiConsumer<String, Object> visitor) {
            int n = 2 * Integer.bitCount(bitmap);
            for (int at = 0; at < n; at += 2) {
                Object k = slots[at];
                if (k == null) {
                    ((Node) slots[at + 1]).forEach(visitor);
                } else {
                    visitor.accept((String) k, slots[at + 1]);
                }
            }
        }

        private BitmapNode set(int at, Object value) {
            slots[at] = value;
            return this;
        }

        /** This node if {@code by} owns it, else a copy that {@code by} owns. */
        private BitmapNode editable(Owner by) {
            if (owner == by) {
                return this;
            }
            int used = 2 * Integer.bitCount(bitmap);
            Object[] copy = new Object[used];
            System.arraycopy(slots, 0, copy, 0, used);
            return new BitmapNode(by, bitmap, copy);
        }

        private Node insert(Owner by, int bit, int at, String key, Object value) {
            int used = 2 * Integer.bitCount(bitmap);
            if (owner == by && used + 2 <= slots.length) {
                System.arraycopy(slots, at, slots, at + 2, used - at);
                slots[at] = key;
                slots[at + 1] = value;
                bitmap |= bit;
                return this;
            }
            // Room for two more slots, so the next inserts into a node the live map owns are in place.
            Object[] grown = new Object[Math.min(used + 6, 2 * (LEVEL_MASK + 1))];
            System.arraycopy(slots, 0, grown, 0, at);
            grown[at] = key;
            grown[at + 1] = value;
            System.arraycopy(slots, at, grown, at + 2, used - at);
            return new BitmapNode(by, bitmap | bit, grown);
        }

        private Node without(Owner by, int bit, int at) {
            if (bitmap == bit) {
                return null;
            }
            BitmapNode e = editable(by);
            int used = 2 * Integer.bitCount(e.bitmap);
            System.arraycopy(e.slots, at + 2, e.slots, at, used - at - 2);
            e.slots[used - 2] = null;
            e.slots[used - 1] = null;
            e.bitmap &= ~bit;
            return e;
        }

        /** A node holding two different keys, from level {@code shift} down. */
        private static Node pair(Owner by, int shift, String key1, Object value1, int hash2, String key2, Object value2) {
            int hash1 = hash(key1);
            if (hash1 == hash2) {
                return new CollisionNode(by, hash1, new String[0], new Object[0])
                        .put(by, shift, hash1, key1, value1, new Change())
                        .put(by, shift, hash2, key2, value2, new Change());
            }
            Change ignored = new Change();
            return new BitmapNode(by, 0, new Object[4])
                    .put(by, shift, hash1, key1, value1, ignored)
                    .put(by, shift, hash2, key2, value2, ignored);
        }
    }

    /**
     * Keys whose whole hash is equal, sorted by key (so the visiting order depends only on the
     * keys). Rare: copied on every change, owned or not.
     */
    private static final class CollisionNode extends Node {
        private final int hash;
        private final String[] keys;
        private final Object[] values;

        CollisionNode(Owner owner, int hash, String[] keys, Object[] values) {
            super(owner);
            this.hash = hash;
            this.keys = keys;
            this.values = values;
        }

        private int find(String key) {
            return java.util.Arrays.binarySearch(keys, key);
        }

        @Override
        Object get(int shift, int hash, String key) {
            if (hash != this.hash) {
                return null;
            }
            int i = find(key);
            return i >= 0 ? values[i] : null;
        }

        @Override
        Node put(Owner by, int shift, int hash, String key, Object value, Change change) {
            if (hash != this.hash) {
                // A key of another hash reached this level: a bitmap node holds this node and it.
                int bit = 1 << ((this.hash >>> shift) & LEVEL_MASK);
                return new BitmapNode(by, bit, new Object[] {null, this, null, null})
                        .put(by, shift, hash, key, value, change);
            }
            int i = find(key);
            if (i >= 0) {
                change.previous = values[i];
                Object[] v = values.clone();
                v[i] = value;
                return new CollisionNode(by, hash, keys, v);
            }
            int at = -i - 1;
            String[] k = new String[keys.length + 1];
            Object[] v = new Object[keys.length + 1];
            System.arraycopy(keys, 0, k, 0, at);
            System.arraycopy(values, 0, v, 0, at);
            k[at] = key;
            v[at] = value;
            System.arraycopy(keys, at, k, at + 1, keys.length - at);
            System.arraycopy(values, at, v, at + 1, keys.length - at);
            return new CollisionNode(by, hash, k, v);
        }

        @Override
        Node remove(Owner by, int shift, int hash, String key, Change change) {
            int i = hash == this.hash ? find(key) : -1;
            if (i < 0) {
                return this;
            }
            change.previous = values[i];
            if (keys.length == 1) {
                return null;
            }
            String[] k = new String[keys.length - 1];
            Object[] v = new Object[keys.length - 1];
            System.arraycopy(keys, 0, k, 0, i);
            System.arraycopy(values, 0, v, 0, i);
            System.arraycopy(keys, i + 1, k, i, keys.length - i - 1);
            System.arraycopy(values, i + 1, v, i, keys.length - i - 1);
            return new CollisionNode(by, hash, k, v);
        }

        @Override
        void forEach(BiConsumer<String, Object> visitor) {
            for (int i = 0; i < keys.length; i++) {
                visitor.accept(keys[i], values[i]);
            }
        }
    }
}
