package dev.vllmrouter.proxy;

import java.time.Duration;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.openai.ErrorKind;
import dev.vllmrouter.openai.RouterException;

/** Waits between attempts of a request; tests pass one that records instead of sleeping. */
@FunctionalInterface
public interface Sleeper {
    void sleep(Duration d) throws InterruptedException;

    /**
     * Sleeps {@code d}, but never past {@code deadline} ({@link Ticker} time).
     *
     * @throws RouterException 503 when interrupted (the router is stopping)
     */
    default void pause(Duration d, long deadline, Ticker ticker) {
        long nanos = Math.min(d.toNanos(), deadline - ticker.nanos());
        if (nanos <= 0) {
            return;
        }
        try {
            sleep(Duration.ofNanos(nanos));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RouterException(ErrorKind.SERVICE_UNAVAILABLE, "Interrupted while waiting to retry");
        }
    }
}
