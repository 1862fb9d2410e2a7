package dev.vllmrouter.worker;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.fault.CircuitBreaker;
import dev.vllmrouter.fault.CircuitBreakerConfig;

/**
 * One routable worker: a vLLM server, or one data-parallel rank of it ({@code url@rank}). Its identity is immutable;
 * it carries live counters that every snapshot shares, so load survives snapshot changes. In-flight is changed only
 * through {@link Lease}. Its {@link CircuitBreaker} lives as long as it does: a worker removed and added again starts
 * closed.
 */
public final class Worker {
    private final WorkerUrl url;
    private final String id;
    private final Role role;
    private final int bootstrapPort;
    private final String zmqAddress;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final LongAdder processed = new LongAdder();
    private final ExternalLoad externalLoad = new ExternalLoad();
    private final CircuitBreaker breaker;
    private final LongAdder successes = new LongAdder();
    private final LongAdder failures = new LongAdder();

    public Worker(WorkerUrl url) {
        this(url, Role.REGULAR, -1, null);
    }

    /**
     * @param bootstrapPort a prefill worker's Mooncake bootstrap port, or {@code -1}
     * @param zmqAddress    the P2P-NCCL address a worker registered with, or {@code null}
     */
    public Worker(WorkerUrl url, Role role, int bootstrapPort, String zmqAddress) {
        this(url, role, bootstrapPort, zmqAddress,
                new CircuitBreaker(CircuitBreakerConfig.defaults(), Ticker.system()));
    }

    public Worker(WorkerUrl url, Role role, int bootstrapPort, String zmqAddress, CircuitBreaker breaker) {
        this.breaker = breaker;
        this.url = url;
        this.id = url.id();
        this.role = role;
        this.bootstrapPort = bootstrapPort;
        this.zmqAddress = zmqAddress;
    }

    public Role role() {
        return role;
    }

    /** A prefill worker's bootstrap port (Mooncake), or {@code -1}. */
    public int bootstrapPort() {
        return bootstrapPort;
    }

    /** The address the worker registered over ZeroMQ (P2P-NCCL), or {@code null}. */
    public String zmqAddress() {
        return zmqAddress;
    }

    /** {@code host:port} of the base URL, without scheme: the address P2P-NCCL request ids use when none registered. */
    public String hostPort() {
        String b = url.base();
        int s = b.indexOf("://");
        String rest = s < 0 ? b : b.substring(s + 3);
        int slash = rest.indexOf('/');
        return slash < 0 ? rest : rest.substring(0, slash);
    }

    /** {@code base} or {@code base@rank}: unique in a registry. */
    public String id() {
        return id;
    }

    /** The URL requests go to ({@code @rank} stripped). */
    public String baseUrl() {
        return url.base();
    }

    public WorkerUrl url() {
        return url;
    }

    /** The data-parallel rank, or {@code -1}. */
    public int dpRank() {
        return url.rank();
    }

    /** Requests dispatched to this worker and not yet finished (stream end included). */
    public int inFlight() {
        return inFlight.get();
    }

    /**
     * The load signal of load-aware policies: this router's in-flight requests on the worker plus the work the worker
     * reported that did not come from this router (other routers, direct clients), as last scraped.
     */
    public int load() {
        return inFlight.get() + externalLoad.estimate();
    }

    /** Work queued or running on the worker that this router did not send, as last observed (0 when unknown). */
    public int externalLoad() {
        return externalLoad.estimate();
    }

    /**
     * Records a scrape of the worker's own queue ({@code running + waiting}); what exceeds this router's in-flight count
     * at that moment is attributed to others, at full weight.
     */
    public void observeQueue(int workerReported) {
        externalLoad.sampleFresh(workerReported, inFlight.get());
    }

    /**
     * Records a scrape of the worker's own queue taken at {@code nowNanos}, one of a periodic series: what exceeds this
     * router's in-flight count is attributed to others, discounted for the staleness of a sample of that period
     * ({@link ExternalLoad}).
     */
    public void observeQueue(int workerReported, long nowNanos) {
        externalLoad.sample(workerReported, inFlight.get(), processed.sum(), nowNanos);
    }

    /** Forgets the external load (the worker could not be scraped). */
    public void clearExternalLoad() {
        externalLoad.clear();
    }

    /** Requests dispatched to this worker since it was added. */
    public long processed() {
        return processed.sum();
    }

    /**
     * Starts one request on this worker whatever its circuit says (the lease records no outcome); close the lease
     * when its answer is over (exactly once is enforced).
     */
    public Lease acquire() {
        processed.increment();
        inFlight.incrementAndGet();
        return new Lease(this, null);
    }

    /**
     * Starts one request on this worker if its circuit lets it through; the lease records the request's outcome in
     * the circuit.
     *
     * @return the lease, or {@code null} when the circuit is open (or half-open with its trials out)
     */
    public Lease tryAcquire() {
        CircuitBreaker.Permit permit = breaker.acquire();
        if (permit == null) {
            return null;
        }
        processed.increment();
        inFlight.incrementAndGet();
        return new Lease(this, permit);
    }

    public CircuitBreaker breaker() {
        return breaker;
    }

    /** Outcomes reported to the circuit: answers that were not 5xx. */
    public long successes() {
        return successes.sum();
    }

    /** Outcomes reported to the circuit: 5xx answers, transport failures, timeouts, streams cut short. */
    public long failures() {
        return failures.sum();
    }

    void countOutcome(boolean success) {
        (success ? successes : failures).increment();
    }

    void release() {
        inFlight.decrementAndGet();
    }

    @Override
    public String toString() {
        return id;
    }
}
