package dev.vllmrouter;

import java.util.logging.LogManager;

/**
 * java.util.logging's manager, except that the JVM's shutdown does not silence it: the JDK resets logging from its
 * own shutdown hook, which runs at the same time as the router's drain, so the drain's log lines would be lost.
 * {@link Main} installs this class (property {@code java.util.logging.manager}) before anything logs; the router's
 * shutdown hook calls {@link #resetWhenStopped()} last.
 */
public final class ShutdownLogManager extends LogManager {
    private volatile boolean stopping;

    /** Called by the JVM's logging shutdown hook (and by configuration code) — ignored once the JVM is stopping. */
    @Override
    public void reset() {
        if (!stopping && !jvmStopping()) {
            super.reset();
        }
    }

    /** Closes the handlers (flushing files) at the very end of the router's own shutdown. */
    static void resetWhenStopped() {
        if (LogManager.getLogManager() instanceof ShutdownLogManager m) {
            m.stopping = true;
            m.superReset();
        }
    }

    private void superReset() {
        super.reset();
    }

    private static boolean jvmStopping() {
        try {
            Thread probe = new Thread(() -> { });
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }
}
