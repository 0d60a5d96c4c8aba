package org.raftkit.examples.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class HashTrieMapTest {

    /** "Aa" and "BB" have the same String hash, and so do any words made of them alike. */
    private static final String[] COLLIDING = {"AaAa", "AaBB", "BBAa", "BBBB"};

    @Test
    void behavesLikeAHashMapUnderRandomPutsAndRemoves() {
        HashTrieMap<Integer> trie = new HashTrieMap<>();
        Map<String, Integer> model = new HashMap<>();
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < 200_000; i++) {
            String key = random.nextInt(8) == 0 ? COLLIDING[random.nextInt(COLLIDING.length)] : "k" + random.nextInt(5_000);
            if (random.nextInt(3) == 0) {
                assertThat(trie.remove(key)).as("remove %s", key).isEqualTo(model.remove(key));
            } else {
                assertThat(trie.put(key, i)).as("put %s", key).isEqualTo(model.put(key, i));
            }
            if (i % 1_000 == 0) {
                trie.capture(); // captures in between make later writes copy shared nodes
            }
        }
        assertThat(trie.size()).isEqualTo(model.size());
        for (int k = 0; k < 5_000; k++) {
            assertThat(trie.get("k" + k)).isEqualTo(model.get("k" + k));
        }
        for (String key : COLLIDING) {
            assertThat(trie.get(key)).isEqualTo(model.get(key));
        }
        assertThat(contents(trie.capture())).isEqualTo(model);
    }

    @Test
    void aCapturedViewDoesNotSeeLaterPutsRemovesOrReplacements() {
        HashTrieMap<String> trie = new HashTrieMap<>();
        Map<String, String> before = new HashMap<>();
        for (int i = 0; i < 10_000; i++) {
            trie.put("k" + i, "v" + i);
            before.put("k" + i, "v" + i);
        }
        for (String key : COLLIDING) {
            trie.put(key, "c");
            before.put(key, "c");
        }
        HashTrieMap.View<String> view = trie.capture();

        for (int i = 0; i < 10_000; i += 2) {
            trie.put("k" + i, "changed");
            trie.remove("k" + (i + 1));
            trie.put("new" + i, "n");
        }
        trie.remove("AaBB");
        trie.put("AaAa", "changed");
        trie.put("BBBBAaAa", "new collision neighbour");

        assertThat(view.size()).isEqualTo(before.size());
        assertThat(contents(view)).isEqualTo(before);
        assertThat(view.get("k1")).isEqualTo("v1");
        assertThat(view.get("new0")).isNull();
        assertThat(trie.get("k1")).isNull();
        assertThat(trie.get("k0")).isEqualTo("changed");
        assertThat(trie.get("AaBB")).isNull();
    }

    @Test
    void twoCapturesInARowShareEverythingAndBothStayAsTheyWere() {
        HashTrieMap<Integer> trie = new HashTrieMap<>();
        trie.put("a", 1);
        HashTrieMap.View<Integer> first = trie.capture();
        HashTrieMap.View<Integer> second = trie.capture();
        trie.put("a", 2);
        trie.put("b", 3);
        assertThat(contents(first)).isEqualTo(Map.of("a", 1));
        assertThat(contents(second)).isEqualTo(Map.of("a", 1));
        assertThat(contents(trie.capture())).isEqualTo(Map.of("a", 2, "b", 3));
    }

    @Test
    void theVisitingOrderDependsOnlyOnTheKeysNotOnTheHistory() {
        List<String> keys = new ArrayList<>(List.of(COLLIDING));
        for (int i = 0; i < 3_000; i++) {
            keys.add("key-" + i);
        }
        HashTrieMap<Integer> forwards = new HashTrieMap<>();
        keys.forEach(k -> forwards.put(k, 1));
        HashTrieMap<Integer> backwards = new HashTrieMap<>();
        for (int i = keys.size() - 1; i >= 0; i--) {
            backwards.put(keys.get(i), 1);
        }
        // Extra keys added and removed again leave deeper nodes behind in one of them.
        for (int i = 0; i < 3_000; i++) {
            backwards.put("extra-" + i, 2);
        }
        for (int i = 0; i < 3_000; i++) {
            backwards.remove("extra-" + i);
        }
        assertThat(order(backwards.capture())).isEqualTo(order(forwards.capture()));
    }

    @Test
    void aMillionKeysThenAnEmptyMapAgain() {
        HashTrieMap<Integer> trie = new HashTrieMap<>();
        for (int i = 0; i < 1_000_000; i++) {
            trie.put("key-" + i, i);
        }
        HashTrieMap.View<Integer> full = trie.capture();
        for (int i = 0; i < 1_000_000; i++) {
            assertThat(trie.remove("key-" + i)).isEqualTo(i);
        }
        assertThat(trie.size()).isZero();
        assertThat(contents(trie.capture())).isEmpty();
        assertThat(full.size()).isEqualTo(1_000_000);
        assertThat(full.get("key-999999")).isEqualTo(999_999);
        long[] count = {0};
        full.forEach((k, v) -> count[0]++);
        assertThat(count[0]).isEqualTo(1_000_000);
    }

    private static <V> Map<String, V> contents(HashTrieMap.View<V> view) {
        Map<String, V> out = new HashMap<>();
        view.forEach((k, v) -> assertThat(out.put(k, v)).as("%s visited twice", k).isNull());
        return out;
    }

    private static List<String> order(HashTrieMap.View<?> view) {
        Map<String, Object> seen = new LinkedHashMap<>();
        view.forEach(seen::put);
        return new ArrayList<>(seen.keySet());
    }
}
