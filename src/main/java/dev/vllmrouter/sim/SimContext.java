package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.webserver.CloseConnectionException;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Everything the route handlers of one worker share: configuration, faults, request log, counters, scheduler,
 * the prefix-cache model (one per worker: the simulated worker is one engine), the disconnect watch, and the
 * worker's closing signal.
 *
 * <p>{@link #pause(Duration)} is the latency model's only wait: it blocks the handler's virtual thread on the
 * closing latch, so waits end early (aborting the exchange) when the worker closes instead of delaying
 * shutdown. Real time is used on purpose: the simulator exists to produce wall-clock latency.
 */
final class SimContext {
    final SimConfig config;
    final SimFaults faults = new SimFaults();
    final RequestLog log = new RequestLog();
    final SimStats stats = new SimStats();
    final Scheduler scheduler;
    final ConnectionWatch watch = new ConnectionWatch();
    final PrefixCacheModel prefixCache;
    final SimMoriio moriio = new SimMoriio(this);
    /** The KV-event publisher, or {@code null} when events are off. */
    final SimKvEvents kvEvents;
    /** Prompt token ids as vLLM computes them ({@code --tokenizer-path}), or {@code null}: {@link Tokens}. */
    final dev.vllmrouter.tokenize.PromptTokenizer tokenizer;
    private final Set<String> models;
    private final CountDownLatch closing = new CountDownLatch(1);
    private volatile String workerId;

    SimContext(SimConfig config) {
        this.config = config;
        this.scheduler = new Scheduler(config.maxNumSeqs());
        this.tokenizer = config.tokenizerPath() == null ? null
                : dev.vllmrouter.tokenize.PromptTokenizer.load(config.tokenizerPath(), java.time.Clock.systemUTC());
        this.prefixCache = new PrefixCacheModel(config.blockSize(), config.cacheBlocks());
        this.kvEvents = config.kvEvents() ? new SimKvEvents(config.host(), config.kvEventsPort(),
                config.kvEventsReplayPort(), config.kvEventsEncoding(), config.kvEventsTopic(), config.blockSize())
                : null;
        prefixCache.listener(kvEvents);
        this.models = Set.copyOf(new HashSet<>(config.models()));
        this.workerId = config.workerId();
    }

    String workerId() {
        return workerId;
    }

    void workerId(String workerId) {
        this.workerId = workerId;
    }

    boolean serves(String model) {
        return models.contains(model);
    }

    /**
     * The model a request asked for: the first served model when absent or empty.
     *
     * @throws ApiError 404 when the model is not served, 400 when it is not a string
     */
    String resolveModel(JsonNode body) {
        JsonNode m = body.get("model");
        if (m == null || m.isNull()) {
            return config.defaultModel();
        }
        if (!m.isTextual()) {
            throw ApiError.badRequest("model must be a string");
        }
        String name = m.textValue();
        if (name.isEmpty()) {
            return config.defaultModel();
        }
        if (!serves(name)) {
            throw ApiError.unknownModel(name);
        }
        return name;
    }

    boolean closed() {
        return closing.getCount() == 0;
    }

    void close() {
        closing.countDown();
        if (kvEvents != null) {
            kvEvents.close();
        }
        scheduler.close();
        faults.wakeAll();
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    /** Waits {@code d} of wall-clock time; aborts the exchange if the worker closes meanwhile. */
    void pause(Duration d) {
        if (d.isZero()) {
            return;
        }
        try {
            if (closing.await(d.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new CloseConnectionException("sim-worker closed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CloseConnectionException("interrupted");
        }
    }
}
