package dev.vllmrouter.common;

/**
 * A monotonic nanosecond clock. Production code uses {@link #system()}; tests inject a fake one and advance it
 * instead of sleeping.
 */
@FunctionalInterface
public interface Ticker {
    /** Current monotonic time in nanoseconds (only differences are meaningful). */
    long nanos();

    static Ticker system() {
        return System::nanoTime;
    }
}
