package dev.vllmrouter.auth;

import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import dev.vllmrouter.common.LogLimiter;
import dev.vllmrouter.common.Ticker;

/**
 * Asks external services whether a client's key is valid (vllm-router's {@code --api-key-validation-urls}): each URL
 * in turn gets {@code GET} with the key as {@code Authorization: Bearer}; the first 200 makes it valid. A service
 * that cannot be reached or answers 5xx, 408 or 429 gives no verdict; when every service gave a verdict and none was
 * 200, the key is invalid.
 * <p>Answers are cached by the SHA-256 of the key (the key itself is not kept), in two maps of at most
 * {@value #MAX_ENTRIES} entries each: accepted keys for the TTL, refused ones for at most
 * {@value #INVALID_TTL_SECONDS} s so a key issued a moment ago works soon. Refusals live apart so that a flood of
 * random keys can only evict other refusals, never the accepted keys of real clients. When a map is full its
 * expired entries are dropped, and if that is not enough it starts over.
 * <p>When a service gave no verdict and none accepted the key, nothing is cached (an outage must not turn into 30 s of refusals), and
 * a key accepted before stays accepted for up to one more TTL after its entry expired ("stale while unreachable"),
 * re-checked every {@value #INVALID_TTL_SECONDS} s; a key never seen is refused.
 * <p>vllm-router caches every answer forever, unbounded: a revoked key stays valid until restart, and random keys
 * grow memory without end. Thread-safe; two requests with the same new key may both ask the services.
 */
public final class KeyValidator {
    static final int MAX_ENTRIES = 10_000;
    static final long INVALID_TTL_SECONDS = 30;
    private static final System.Logger LOG = System.getLogger(KeyValidator.class.getName());

    /** One validation call: the HTTP status the service answered, or -1 when it could not be reached. */
    @FunctionalInterface
    public interface Probe {
        int status(String url, String bearerToken);
    }

    private enum Answer { VALID, INVALID, UNREACHABLE }

    /** @param staleUntil accepted keys only: how long the entry may still be used while no service answers */
    private record Entry(long expiresAt, long staleUntil) {
    }

    private final List<String> urls;
    private final Probe probe;
    private final Ticker ticker;
    private final long validTtlNanos;
    private final long invalidTtlNanos;
    private final ConcurrentHashMap<String, Entry> accepted = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Entry> refused = new ConcurrentHashMap<>();
    /** A service that is down fails every uncached key: one line per service, outcome and minute. */
    private final LogLimiter outages;

    public KeyValidator(List<String> urls, Duration ttl, Probe probe, Ticker ticker) {
        this.urls = List.copyOf(urls);
        this.probe = probe;
        this.ticker = ticker;
        this.validTtlNanos = ttl.toNanos();
        this.invalidTtlNanos = Math.min(ttl.toNanos(), Duration.ofSeconds(INVALID_TTL_SECONDS).toNanos());
        this.outages = LogLimiter.perMinute(LOG, ticker);
    }

    public boolean valid(String token) {
        String id = sha256(token);
        long now = ticker.nanos();
        Entry ok = accepted.get(id);
        if (ok != null && now - ok.expiresAt < 0) {
            return true;
        }
        Entry no = refused.get(id);
        if (no != null && now - no.expiresAt < 0) {
            return false;
        }
        switch (ask(token)) {
            case VALID -> {
                refused.remove(id);
                put(accepted, id, new Entry(now + validTtlNanos, now + 2 * validTtlNanos), now);
                return true;
            }
            case INVALID -> {
                accepted.remove(id);
                put(refused, id, new Entry(now + invalidTtlNanos, now), now);
                return false;
            }
            default -> {
                if (ok != null && now - ok.staleUntil < 0) {
                    long next = now + invalidTtlNanos;
                    accepted.put(id, new Entry(next - ok.staleUntil < 0 ? next : ok.staleUntil, ok.staleUntil));
                    return true;
                }
                return false;
            }
        }
    }

    private static void put(ConcurrentHashMap<String, Entry> map, String id, Entry entry, long now) {
        if (map.size() >= MAX_ENTRIES) {
            map.values().removeIf(e -> now - Math.max(e.expiresAt, e.staleUntil) >= 0);
            if (map.size() >= MAX_ENTRIES) {
                map.clear();
            }
        }
        map.put(id, entry);
    }

    private Answer ask(String token) {
        boolean down = false;
        for (String url : urls) {
            int status = probe.status(url, token);
            if (status == 200) {
                return Answer.VALID;
            }
            if (status < 0 || status >= 500 || status == 408 || status == 429) {
                // no verdict: the service (or the proxy in front of it) is down or overloaded
                String why = status < 0 ? "unreachable" : "HTTP " + status;
                outages.log(Level.WARNING, url + " " + why,
                        () -> "API key validation service " + url + " gave no verdict (" + why + ")");
                down = true;
            }
        }
        // one service down may be the one that knows this key: a refusal by the others is not cached then
        return down ? Answer.UNREACHABLE : Answer.INVALID;
    }

    /** A probe over the JDK's HTTP client: {@code GET url} with the token, {@code timeout} per call. */
    public static Probe http(Duration timeout) {
        java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder().connectTimeout(timeout).build();
        return (url, token) -> {
            try {
                return client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).timeout(timeout)
                        .header("Authorization", "Bearer " + token).GET().build(),
                        java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (java.io.IOException | RuntimeException e) {
                return -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        };
    }

    /** Entries in the cache now, accepted and refused (for tests). */
    int cached() {
        return accepted.size() + refused.size();
    }

    private static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
