package dev.vllmrouter.common;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Keeps a repeated log message from flooding the log: per key, the first occurrence is logged in full; further
 * occurrences within {@code interval} are only counted; the first one after the interval is logged in full again,
 * followed by how many were left out ({@code "... (and 41 more like it since the last one logged)"}). So a dead
 * dependency or a flood of failing requests costs one line per key and interval, and the count is never lost while it
 * goes on.
 * <p>No timer: a count is written with the next occurrence, so the count of a burst that stopped is not written. Keys
 * are bounded ({@code maxKeys}; when full, every key starts over), so client-chosen text in a key cannot grow memory.
 * Thread-safe (one atomic update per key); two occurrences racing at an interval's end log at most twice. Time comes
 * from the injected {@link Ticker}.
 */
public final class LogLimiter {
    private record Window(long startedAt, long suppressed) {
    }

    private final System.Logger log;
    private final Ticker ticker;
    private final long intervalNanos;
    private final int maxKeys;
    private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();

    /**
     * @param interval how long repeats of one key are only counted (60 s in the router)
     * @param maxKeys  the most keys remembered at once
     */
    public LogLimiter(System.Logger log, Ticker ticker, Duration interval, int maxKeys) {
        this.log = log;
        this.ticker = ticker;
        this.intervalNanos = interval.toNanos();
        this.maxKeys = maxKeys;
    }

    /** A limiter over {@code log} with a 60 s interval and up to 1,000 keys. */
    public static LogLimiter perMinute(System.Logger log, Ticker ticker) {
        return new LogLimiter(log, ticker, Duration.ofSeconds(60), 1000);
    }

    /**
     * Logs {@code message} at {@code level} unless {@code key} was logged within the interval.
     *
     * @param thrown logged with the message when not {@code null}
     * @return whether it was logged
     */
    public boolean log(Level level, String key, Supplier<String> message, Throwable thrown) {
        if (!log.isLoggable(level)) {
            return false;
        }
        long now = ticker.nanos();
        if (windows.size() >= maxKeys && !windows.containsKey(key)) {
            windows.clear();
        }
        long[] left = {-1};
        windows.compute(key, (k, w) -> {
            if (w == null || now - w.startedAt() >= intervalNanos) {
                left[0] = w == null ? 0 : w.suppressed();
                return new Window(now, 0);
            }
            return new Window(w.startedAt(), w.suppressed() + 1);
        });
        if (left[0] < 0) {
            return false;
        }
        String text = message.get();
        if (left[0] > 0) {
            text += " (and " + left[0] + " more like it since the last one logged)";
        }
        if (thrown == null) {
            log.log(level, text);
        } else {
            log.log(level, text, thrown);
        }
        return true;
    }

    /** {@link #log(Level, String, Supplier, Throwable)} without an exception. */
    public boolean log(Level level, String key, Supplier<String> message) {
        return log(level, key, message, null);
    }
}
