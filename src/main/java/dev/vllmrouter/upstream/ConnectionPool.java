package dev.vllmrouter.upstream;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

import dev.vllmrouter.common.Ticker;

/**
 * Idle keep-alive connections per worker origin. Most recently used first (LIFO), so under light load a few warm
 * connections serve everything and the rest age out. A connection idle longer than {@code maxIdleNanos} is closed
 * instead of reused: vLLM's server (uvicorn) closes idle connections after 5 s, and reusing one it is closing would
 * fail the request. Lock-free; about {@code maxIdlePerOrigin} idle connections at most per origin (the count is
 * advisory under races, which only lets the bound be exceeded by the number of racing threads).
 * <p>{@link #evictIdle()}, run every second by the {@link ReadWatchdog}, closes idle connections that aged out even
 * when their origin sees no more traffic (a removed worker, a Kubernetes pod replaced by another): without it their
 * sockets would stay open, half-closed by the worker, for the life of the router.
 * <p>A connection is handed out only after a read that does not wait found it neither closed by the worker nor
 * holding bytes the worker sent after its last response ({@link Connection#stillClean()}): stray bytes are never
 * read as the next request's answer, and a request is never written to a connection the worker already closed.
 */
final class ConnectionPool {
    private static final class Idle {
        final ConcurrentLinkedDeque<Connection> deque = new ConcurrentLinkedDeque<>();
        final AtomicInteger count = new AtomicInteger();
    }

    private final ConcurrentHashMap<Origin, Idle> idle = new ConcurrentHashMap<>();
    private final Ticker ticker;
    private final long maxIdleNanos;
    private final int maxIdlePerOrigin;

    ConnectionPool(Ticker ticker, long maxIdleNanos, int maxIdlePerOrigin) {
        this.ticker = ticker;
        this.maxIdleNanos = maxIdleNanos;
        this.maxIdlePerOrigin = maxIdlePerOrigin;
    }

    /**
     * A pooled connection to {@code origin} that is young enough and {@linkplain Connection#stillClean() still
     * clean}, or {@code null}. The others are closed on the way.
     */
    Connection take(Origin origin) {
        Idle pool = idle.get(origin);
        if (pool == null) {
            return null;
        }
        long now = ticker.nanos();
        Connection c;
        while ((c = pool.deque.pollFirst()) != null) {
            pool.count.decrementAndGet();
            if (now - c.idleSince() < maxIdleNanos && c.stillClean()) {
                return c;
            }
            c.close();
        }
        return null;
    }

    void release(Connection c) {
        Idle pool = idle.computeIfAbsent(c.origin(), o -> new Idle());
        long now = ticker.nanos();
        if (pool.count.get() >= maxIdlePerOrigin) {
            c.close();
            return;
        }
        c.idleSince(now);
        pool.count.incrementAndGet();
        pool.deque.offerFirst(c);
        // age out the least recently used while here, so sockets do not pile up after a burst
        Connection oldest = pool.deque.peekLast();
        if (oldest != null && oldest != c && now - oldest.idleSince() >= maxIdleNanos
                && pool.deque.removeLastOccurrence(oldest)) {
            pool.count.decrementAndGet();
            oldest.close();
        }
    }

    /** Closes every idle connection that is too old to be reused (or already closed), for every origin. */
    void evictIdle() {
        long now = ticker.nanos();
        for (Idle pool : idle.values()) {
            Connection c;
            // LIFO: the oldest are at the tail
            while ((c = pool.deque.peekLast()) != null && (now - c.idleSince() >= maxIdleNanos || c.isClosed())) {
                if (pool.deque.removeLastOccurrence(c)) {
                    pool.count.decrementAndGet();
                    c.close();
                }
            }
        }
    }

    /** The idle connections to {@code origin} now, most recently used first (for tests). */
    java.util.List<Connection> idle(Origin origin) {
        Idle pool = idle.get(origin);
        return pool == null ? java.util.List.of() : java.util.List.copyOf(pool.deque);
    }

    /** Idle connections held now (for tests). */
    int idleCount() {
        return idle.values().stream().mapToInt(p -> p.deque.size()).sum();
    }

    void closeAll() {
        idle.values().forEach(pool -> {
            Connection c;
            while ((c = pool.deque.pollFirst()) != null) {
                pool.count.decrementAndGet();
                c.close();
            }
        });
    }
}
