package dev.vllmrouter.policy.prefix;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Brute-force model of what each tenant holds: every non-empty prefix of its (capped) texts, char by char, with the
 * sequence number of the last insert through it. Matching is the naive longest held prefix.
 */
final class ReferenceModel {
    private final int maxTextChars;
    private final Map<String, Map<String, Long>> held = new TreeMap<>();
    private long seq;

    ReferenceModel(int maxTextChars) {
        this.maxTextChars = maxTextChars;
    }

    void insert(String text, String tenant) {
        Map<String, Long> prefixes = held.computeIfAbsent(tenant, t -> new HashMap<>());
        String capped = cap(text);
        if (capped.isEmpty()) {
            return;
        }
        seq++;
        for (int k = 1; k <= capped.length(); k++) {
            prefixes.put(capped.substring(0, k), seq);
        }
    }

    void remove(String tenant) {
        held.remove(tenant);
    }

    /** After a checked eviction: the tenant now holds exactly {@code kept}. */
    void retain(String tenant, Set<String> kept) {
        held.get(tenant).keySet().retainAll(kept);
    }

    int matched(String text, String tenant) {
        Map<String, Long> prefixes = held.getOrDefault(tenant, Map.of());
        String capped = cap(text);
        for (int k = capped.length(); k > 0; k--) {
            if (prefixes.containsKey(capped.substring(0, k))) {
                return k;
            }
        }
        return 0;
    }

    /** Tenant -> matched chars, for tenants matching at least one char. */
    Map<String, Integer> match(String text) {
        Map<String, Integer> out = new TreeMap<>();
        for (String t : held.keySet()) {
            int m = matched(text, t);
            if (m > 0) {
                out.put(t, m);
            }
        }
        return out;
    }

    /**
     * The longest prefix of the matched part of {@code text} after which the held texts of all tenants continue with
     * two or more different chars (0 if none).
     */
    int shared(String text) {
        String capped = cap(text);
        int longest = match(text).values().stream().mapToInt(Integer::intValue).max().orElse(0);
        List<Set<Character>> continuations = new ArrayList<>();
        for (int p = 0; p <= longest; p++) {
            continuations.add(new HashSet<>());
        }
        for (Map<String, Long> prefixes : held.values()) {
            for (String key : prefixes.keySet()) {
                int p = key.length() - 1;
                if (p <= longest && capped.regionMatches(0, key, 0, p)) {
                    continuations.get(p).add(key.charAt(p));
                }
            }
        }
        // the input's own divergence: it goes on past the match while stored texts go on differently
        if (longest < capped.length() && !continuations.get(longest).isEmpty()) {
            return longest;
        }
        for (int p = longest; p > 0; p--) {
            if (continuations.get(p).size() >= 2) {
                return p;
            }
        }
        return 0;
    }

    long chars(String tenant) {
        return held.getOrDefault(tenant, Map.of()).size();
    }

    Map<String, Long> held(String tenant) {
        return new HashMap<>(held.getOrDefault(tenant, Map.of()));
    }

    TreeSet<String> tenants() {
        return new TreeSet<>(held.keySet());
    }

    int inputChars(String text) {
        return Math.min(text.length(), maxTextChars);
    }

    private String cap(String text) {
        return text.length() > maxTextChars ? text.substring(0, maxTextChars) : text;
    }
}
