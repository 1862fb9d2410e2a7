package dev.vllmrouter.worker;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * In-flight accounting for one request on one worker, used in try-with-resources. {@link #close()} releases exactly
 * once however often it is called and from whichever thread (client hang-up, error and normal end may race), so a
 * worker's in-flight count cannot drift.
 */
public final class Lease implements AutoCloseable {
    private static final VarHandle RELEASED;

    static {
        try {
            RELEASED = MethodHandles.lookup().findVarHandle(Lease.class, "released", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Worker worker;
    @SuppressWarnings("unused") // accessed through RELEASED
    private volatile int released;

    Lease(Worker worker) {
        this.worker = worker;
    }

    public Worker worker() {
        return worker;
    }

    @Override
    public void close() {
        if (RELEASED.compareAndSet(this, 0, 1)) {
            worker.release();
        }
    }
}
