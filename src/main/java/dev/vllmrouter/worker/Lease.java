package dev.vllmrouter.worker;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import dev.vllmrouter.fault.CircuitBreaker;

/**
 * In-flight accounting for one request on one worker, used in try-with-resources. {@link #close()} releases exactly
 * once however often it is called and from whichever thread (client hang-up, error and normal end may race), so a
 * worker's in-flight count cannot drift.
 * <p>A lease taken through the worker's circuit ({@link Worker#tryAcquire()}) also reports the request's outcome to
 * it: the first of {@link #status}, {@link #failed()} wins; a lease closed without an outcome (the client left)
 * returns its circuit permit unused.
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

    private static final VarHandle REPORTED;

    static {
        try {
            REPORTED = MethodHandles.lookup().findVarHandle(Lease.class, "reported", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Worker worker;
    private final CircuitBreaker.Permit permit;
    @SuppressWarnings("unused") // accessed through RELEASED
    private volatile int released;
    @SuppressWarnings("unused") // accessed through REPORTED
    private volatile int reported;

    Lease(Worker worker, CircuitBreaker.Permit permit) {
        this.worker = worker;
        this.permit = permit;
    }

    /** Reports the worker's answer: a 5xx counts against its circuit, any other status for it. */
    public void status(int status) {
        if (permit != null && REPORTED.compareAndSet(this, 0, 1)) {
            boolean failure = CircuitBreaker.isFailure(status);
            worker.countOutcome(!failure);
            if (failure) {
                worker.breaker().onFailure(permit);
            } else {
                worker.breaker().onSuccess(permit);
            }
        }
    }

    /** Reports a failure of the worker: no answer, a broken connection, a timeout, a stream cut short. */
    public void failed() {
        if (permit != null && REPORTED.compareAndSet(this, 0, 1)) {
            worker.countOutcome(false);
            worker.breaker().onFailure(permit);
        }
    }

    public Worker worker() {
        return worker;
    }

    @Override
    public void close() {
        if (RELEASED.compareAndSet(this, 0, 1)) {
            if (permit != null && REPORTED.compareAndSet(this, 0, 1)) {
                worker.breaker().release(permit);
            }
            worker.release();
        }
    }
}
