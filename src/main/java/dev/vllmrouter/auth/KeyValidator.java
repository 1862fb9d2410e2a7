package dev.vllmrouter.auth;

import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import dev.vllmrouter.common.Ticker;

/**
 * Asks external services whether a client's key is valid (vllm-router's {@code --api-key-validation-urls}): each URL
 * in turn gets {@code GET} with the key as {@code Authorization: Bearer}; the first 200 makes it valid; a service
 * that cannot be reached is skipped; none saying 200 makes it invalid.
 * <p>Answers are cached by the SHA-256 of the key (the key itself is not kept): valid ones for the TTL, invalid ones
 * for at most {@value #INVALID_TTL_SECONDS} s so a key issued a moment ago works soon. vllm-router caches every answer
 * forever, unbounded: a revoked key stays valid until restart, and random keys grow memory without end. Here the
 * cache holds at most {@value #MAX_ENTRIES} entries; when full, expired entries are dropped, and if that is not
 * enough the cache starts over. Thread-safe; two requests with the same new key may both ask the services.
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

    private record Entry(boolean valid, long expiresAt) {
    }

    private final List<String> urls;
    private final Probe probe;
    private final Ticker ticker;
    private final long validTtlNanos;
    private final long invalidTtlNanos;
    private final ConcurrentHashMap<String, Entry> cache = new ConcurrentHashMap<>();

    public KeyValidator(List<String> urls, Duration ttl, Probe probe, Ticker ticker) {
        this.urls = List.copyOf(urls);
        this.probe = probe;
        this.ticker = ticker;
        this.validTtlNanos = ttl.toNanos();
        this.invalidTtlNanos = Math.min(ttl.toNanos(), Duration.ofSeconds(INVALID_TTL_SECONDS).toNanos());
    }

    public boolean valid(String token) {
        String id = sha256(token);
        long now = ticker.nanos();
        Entry cached = cache.get(id);
        if (cached != null && now - cached.expiresAt < 0) {
            return cached.valid;
        }
        boolean valid = ask(token);
        if (cache.size() >= MAX_ENTRIES) {
            cache.values().removeIf(e -> now - e.expiresAt >= 0);
            if (cache.size() >= MAX_ENTRIES) {
                cache.clear();
            }
        }
        cache.put(id, new Entry(valid, now + (valid ? validTtlNanos : invalidTtlNanos)));
        return valid;
    }

    private boolean ask(String token) {
        for (String url : urls) {
            int status = probe.status(url, token);
            if (status == 200) {
                return true;
            }
            if (status < 0) {
                LOG.log(Level.WARNING, "API key validation service {0} could not be reached", url);
            }
        }
        return false;
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

    /** Entries in the cache now (for tests). */
    int cached() {
        return cache.size();
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
