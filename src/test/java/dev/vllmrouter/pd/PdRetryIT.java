package dev.vllmrouter.pd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.fault.RetryConfig;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.policy.PolicyRuntime;
import dev.vllmrouter.policy.RoundRobinPolicy;
import dev.vllmrouter.proxy.AnswerRelay;
import dev.vllmrouter.proxy.HeaderRules;
import dev.vllmrouter.sim.RecordedRequest;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.WorkerRegistry;
import dev.vllmrouter.worker.WorkerSpec;
import dev.vllmrouter.testing.CapturedSink;

/**
 * Both PD legs follow the regular retry rules ({@code RetryDecision}, {@code Retry-After}): two prefill and two decode
 * simulated workers on real sockets, the waits between attempts recorded instead of slept.
 */
class PdRetryIT {
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";

    private final List<Duration> waits = new CopyOnWriteArrayList<>();
    private final List<SimWorker> prefill = List.of(sim("prefill-0"), sim("prefill-1"));
    private final List<SimWorker> decode = List.of(sim("decode-0"), sim("decode-1"));
    private final UpstreamClient client = new UpstreamClient(Duration.ofSeconds(5), Duration.ofSeconds(30));
    private final RetryConfig retry = new RetryConfig(5, Duration.ofMillis(50), Duration.ofMillis(30_000), 1.5, 0,
            false);

    private WorkerRegistry registry;

    @AfterEach
    void stop() {
        if (registry != null) {
            assertThat(registry.snapshot().workers()).as("every lease released")
                    .allMatch(w -> w.inFlight() == 0);
        }
        client.close();
        prefill.forEach(SimWorker::close);
        decode.forEach(SimWorker::close);
    }

    @Test
    void aPrefillAnswering503WithRetryAfterMovesToTheOtherPrefillAfterTheHintedWait() {
        prefill.get(0).faults().status(503).retryAfter("2"); // round robin starts with the first worker
        PdForwarder pd = forwarder(false, retry);
        CapturedSink answer = forward(pd);
        assertThat(answer.status).isEqualTo(200);
        assertThat(posts(prefill)).as("one 503, then the other prefill worker").hasSize(2);
        assertThat(waits).as("the worker's Retry-After, not the 50 ms backoff").containsExactly(Duration.ofSeconds(2));
    }

    @Test
    void aDecodeAnswering429IsRetriedOnTheOtherDecodeWorkerAfterItsRetryAfter() {
        decode.get(0).faults().status(429).retryAfter("3");
        PdForwarder pd = forwarder(false, retry);
        CapturedSink answer = forward(pd);
        assertThat(answer.status).isEqualTo(200);
        assertThat(posts(decode)).hasSize(2);
        assertThat(posts(List.of(decode.get(1)))).as("the second decode attempt").hasSize(1);
        assertThat(posts(prefill)).as("the prefill is not repeated").hasSize(1);
        RecordedRequest first = posts(List.of(decode.get(0))).get(0);
        RecordedRequest second = posts(List.of(decode.get(1))).get(0);
        assertThat(second.body()).as("the same decode request").isEqualTo(first.body());
        assertThat(second.requestId()).isEqualTo(first.requestId());
        assertThat(waits).containsExactly(Duration.ofSeconds(3));
    }

    @Test
    void whenEveryDecodeWorkerRefusesTheLastAnswerReachesTheClient() {
        decode.forEach(d -> d.faults().status(429));
        PdForwarder pd = forwarder(false, retry);
        CapturedSink answer = forward(pd);
        assertThat(answer.status).as("the worker's own 429, as on the regular path").isEqualTo(429);
        assertThat(posts(decode)).hasSize(2);
        assertThat(waits).containsExactly(Duration.ofMillis(50));
    }

    @Test
    void disabledRetriesMeanOneAttemptOnEachLeg() {
        prefill.get(0).faults().status(503);
        prefill.get(1).faults().status(503);
        PdForwarder pd = forwarder(false, new RetryConfig(5, Duration.ofMillis(50), Duration.ofMillis(30_000), 1.5, 0, true));
        assertThatThrownBy(() -> forward(pd)).isInstanceOf(RouterException.class)
                .hasMessageStartingWith("Prefill failed");
        assertThat(posts(prefill)).hasSize(1);
        assertThat(waits).isEmpty();
    }

    @Test
    void aP2pNcclDecodeWorkerIsNeverReplaced() {
        // the KV cache went to the decode worker the request id names: a 503 there is the answer
        decode.forEach(d -> d.faults().status(503));
        PdForwarder pd = forwarder(true, retry);
        CapturedSink answer = forward(pd);
        assertThat(answer.status).isEqualTo(503);
        assertThat(posts(decode)).as("one decode call, no replacement").hasSize(1);
        assertThat(waits).isEmpty();
    }

    private PdForwarder forwarder(boolean p2pNccl, RetryConfig retry) {
        registry = new WorkerRegistry(1);
        for (SimWorker p : prefill) {
            registry.add(new WorkerSpec(WorkerUrl.parse(p.url()), Role.PREFILL, -1,
                    p2pNccl ? "127.0.0.1:" + (p.port() + 1) : null), null, "static");
        }
        for (SimWorker d : decode) {
            registry.add(new WorkerSpec(WorkerUrl.parse(d.url()), Role.DECODE, -1,
                    p2pNccl ? "127.0.0.1:" + (d.port() + 1) : null), null, "static");
        }
        return new PdForwarder(new PolicyRuntime(new RoundRobinPolicy(), () -> registry.snapshot(Role.PREFILL)),
                new PolicyRuntime(new RoundRobinPolicy(), () -> registry.snapshot(Role.DECODE)), client,
                new HeaderRules(null), new AnswerRelay(Ticker.system(), RouterMetrics.NOOP, true), Ticker.system(),
                RandomSource.seeded(3), null, Duration.ofMinutes(5), Duration.ofSeconds(30), false, retry,
                waits::add, RouterMetrics.NOOP);
    }

    private static List<RecordedRequest> posts(List<SimWorker> workers) {
        return workers.stream().flatMap(w -> w.log().requests().stream()).filter(r -> r.method().equals("POST"))
                .toList();
    }

    private static CapturedSink forward(PdForwarder pd) {
        CapturedSink sink = new CapturedSink();
        pd.forward(CapturedSink.chat(CHAT), sink);
        return sink;
    }

    private static SimWorker sim(String id) {
        return SimWorker.start(SimConfig.builder().workerId(id).build());
    }
}
