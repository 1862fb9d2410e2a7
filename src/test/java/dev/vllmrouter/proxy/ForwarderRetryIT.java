package dev.vllmrouter.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.fault.RetryConfig;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.policy.PolicyRuntime;
import dev.vllmrouter.policy.RoundRobinPolicy;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.worker.WorkerRegistry;
import dev.vllmrouter.testing.CapturedSink;

/**
 * The waits between attempts, recorded instead of slept: vllm-router's backoff without jitter, a worker's
 * {@code Retry-After} (seconds or an HTTP date) replacing it, capped.
 */
class ForwarderRetryIT {
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";
    private static final Instant NOW = Instant.parse("2026-11-24T12:00:00Z");

    private final List<Duration> waits = new CopyOnWriteArrayList<>();
    private List<SimWorker> sims;
    private UpstreamClient client;
    private Forwarder forwarder;

    @BeforeEach
    void start() {
        sims = List.of(sim("a"), sim("b"), sim("c"), sim("d"));
        WorkerRegistry registry = new WorkerRegistry(1);
        sims.forEach(s -> registry.add(WorkerUrl.parse(s.url())));
        client = new UpstreamClient(Duration.ofSeconds(5), Duration.ofSeconds(30));
        RetryConfig retry = new RetryConfig(5, Duration.ofMillis(50), Duration.ofMillis(30_000), 1.5, 0, false);
        forwarder = new Forwarder(new PolicyRuntime(new RoundRobinPolicy(), registry::snapshot), client,
                new HeaderRules(null), Ticker.system(), Duration.ofMinutes(5), Duration.ofSeconds(30),
                false, retry, RandomSource.seeded(7), waits::add, Clock.fixed(NOW, ZoneOffset.UTC),
                RouterMetrics.NOOP);
    }

    @AfterEach
    void stop() {
        client.close();
        sims.forEach(SimWorker::close);
    }

    @Test
    void backoffFollowsVllmRoutersFormulaWithoutJitter() {
        sims.forEach(s -> s.faults().status(503));
        CapturedSink answer = forward();
        assertThat(answer.status).isEqualTo(503);
        assertThat(waits).containsExactly(Duration.ofMillis(50), Duration.ofMillis(75), Duration.ofMillis(112));
    }

    @Test
    void aWorkersRetryAfterInSecondsReplacesTheBackoff() {
        sims.get(0).faults().status(429).retryAfter("2");
        sims.get(1).faults().status(429).retryAfter("2");
        sims.get(2).faults().status(429).retryAfter("2");
        sims.get(3).faults().status(429).retryAfter("2");
        CapturedSink answer = forward();
        assertThat(answer.status).isEqualTo(429);
        assertThat(waits).containsExactly(Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(2));
    }

    @Test
    void aRetryAfterDateIsReadAgainstTheClockAndCapped() {
        String inTenSeconds = DateTimeFormatter.RFC_1123_DATE_TIME.format(NOW.plusSeconds(10).atOffset(ZoneOffset.UTC));
        sims.forEach(s -> s.faults().status(503).retryAfter(inTenSeconds));
        sims.get(3).faults().clearStatus();
        forward();
        assertThat(waits).first().isEqualTo(Duration.ofSeconds(10));

        waits.clear();
        sims.forEach(s -> s.faults().status(503).retryAfter("3600"));
        sims.get(3).faults().clearStatus();
        CapturedSink answer = forward();
        assertThat(answer.status).as("the one healthy worker answers in the end").isEqualTo(200);
        assertThat(waits).isNotEmpty().allMatch(d -> d.equals(Duration.ofSeconds(30)),
                "an hour-long Retry-After is capped at 30 s");
    }

    private CapturedSink forward() {
        CapturedSink sink = new CapturedSink();
        forwarder.forward(CapturedSink.chat(CHAT), sink);
        return sink;
    }

    private static SimWorker sim(String id) {
        return SimWorker.start(SimConfig.builder().workerId(id).build());
    }
}
