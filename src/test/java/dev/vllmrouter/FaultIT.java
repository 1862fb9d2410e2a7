package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.fault.CircuitBreaker;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Fleet;
import dev.vllmrouter.worker.Worker;

/**
 * The fault suite: simulated workers that die mid-stream, answer 503 in bursts, hang, are slow, refuse connections,
 * flap, all go down and come back, or die under 500 concurrent clients. For each case: the client's outcome, exactly
 * one answer per request, every lease released (in-flight back to 0), and the circuit and health state expected.
 * docs/reliability.md lists the same cases as a table.
 */
class FaultIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";
    private static final String STREAM = "{\"model\":\"demo\",\"stream\":true,\"max_tokens\":8,\"prompt\":\"p\"}";

    @Test
    void aWorkerKilledMidStreamEndsTheStreamWithAnErrorEventAndCountsAsAFailure() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--cb-failure-threshold", "1")) {
            fleet.worker(0).faults().dieMidStream(3);
            HttpResponse<String> res = fleet.post("/v1/completions", STREAM);
            assertThat(res.statusCode()).as("the stream had started").isEqualTo(200);
            List<String> events = events(res.body());
            assertThat(events).hasSize(5);
            assertThat(events.get(3)).startsWith("data: {\"error\":").contains("\"code\":502");
            assertThat(events.get(4)).isEqualTo("data: [DONE]");
            fleet.awaitRouterIdle();
            assertThat(breaker(fleet, 0).state()).isEqualTo(CircuitBreaker.State.OPEN);
        }
    }

    @Test
    void a503BurstIsAbsorbedByRetriesAndTheFailingWorkersCircuitOpens() throws Exception {
        try (Fleet fleet = Fleet.start(2, "--policy", "round_robin", "--cb-failure-threshold", "3",
                "--retry-initial-backoff-ms", "1")) {
            fleet.worker(0).faults().status(503);
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> res = fleet.post("/v1/chat/completions", CHAT);
                assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
            }
            assertThat(chats(fleet.worker(0))).as("tried until its circuit opened, then passed over").isEqualTo(3);
            assertThat(chats(fleet.worker(1))).isEqualTo(20);
            assertThat(breaker(fleet, 0).state()).isEqualTo(CircuitBreaker.State.OPEN);
            assertThat(breaker(fleet, 1).state()).isEqualTo(CircuitBreaker.State.CLOSED);
            fleet.awaitRouterIdle();
        }
    }

    @Test
    void whenEveryWorkerAnswers503TheLastAnswerPassesThroughAfterOneAttemptEach() throws Exception {
        try (Fleet fleet = Fleet.start(3, "--retry-initial-backoff-ms", "1")) {
            fleet.workers().forEach(w -> w.faults().status(503));
            HttpResponse<String> res = fleet.post("/v1/chat/completions", CHAT);
            assertThat(res.statusCode()).isEqualTo(503);
            assertThat(res.body()).contains("\"code\":503");
            fleet.workers().forEach(w -> assertThat(chats(w)).isEqualTo(1));
            fleet.awaitRouterIdle();
        }
    }

    @Test
    void retriesStopAtRetryMaxRetriesAndDisableRetriesMeansOneAttempt() throws Exception {
        try (Fleet fleet = Fleet.start(4, "--retry-max-retries", "2", "--retry-initial-backoff-ms", "1")) {
            fleet.workers().forEach(w -> w.faults().status(502));
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(502);
            assertThat(fleet.workers().stream().mapToLong(FaultIT::chats).sum()).isEqualTo(2);
        }
        try (Fleet fleet = Fleet.start(2, "--disable-retries")) {
            fleet.workers().forEach(w -> w.faults().status(503));
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(503);
            assertThat(fleet.workers().stream().mapToLong(FaultIT::chats).sum()).isEqualTo(1);
        }
    }

    @Test
    void aClientErrorIsNeitherRetriedNorCountedAgainstTheWorker() throws Exception {
        try (Fleet fleet = Fleet.start(2, "--cb-failure-threshold", "1")) {
            fleet.workers().forEach(w -> w.faults().status(400));
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(400);
            assertThat(fleet.workers().stream().mapToLong(FaultIT::chats).sum()).isEqualTo(1);
            fleet.awaitRouterIdle();
            assertThat(breaker(fleet, 0).state()).isEqualTo(CircuitBreaker.State.CLOSED);
            assertThat(breaker(fleet, 1).state()).isEqualTo(CircuitBreaker.State.CLOSED);
        }
    }

    @Test
    void aHangingWorkerCostsTheReadTimeoutAndEndsIn504WithoutARetry() throws Exception {
        try (Fleet fleet = Fleet.start(2, "--read-timeout-secs", "1", "--cb-failure-threshold", "1")) {
            fleet.workers().forEach(w -> w.faults().hang(true));
            HttpResponse<String> res = fleet.post("/v1/chat/completions", CHAT);
            assertThat(res.statusCode()).isEqualTo(504);
            assertThat(JSON.readTree(res.body()).path("error").path("type").asText())
                    .isEqualTo("GatewayTimeoutError");
            assertThat(fleet.workers().stream().mapToLong(FaultIT::chats).sum())
                    .as("the worker may still be generating: not sent twice").isEqualTo(1);
            fleet.awaitRouterIdle();
            assertThat(fleet.workers().stream().filter(w -> w.log().disconnects() > 0).count())
                    .as("the hung request's connection was closed").isLessThanOrEqualTo(1);
            long open = fleet.router().registry().snapshot().workers().stream()
                    .filter(w -> w.breaker().state() == CircuitBreaker.State.OPEN).count();
            assertThat(open).isEqualTo(1);
            fleet.workers().forEach(w -> w.faults().hang(false));
        }
    }

    @Test
    void aSlowWorkerIsWaitedForAndNotRetried() throws Exception {
        try (Fleet fleet = Fleet.start(2, "--read-timeout-secs", "30")) {
            fleet.workers().forEach(w -> w.faults().latency(Duration.ofMillis(300), Duration.ofMillis(50)));
            HttpResponse<String> res = fleet.post("/v1/completions", STREAM);
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(res.body()).endsWith("data: [DONE]\n\n").doesNotContain("\"error\"");
            assertThat(fleet.workers().stream().mapToLong(w -> posts(w, "/v1/completions")).sum()).isEqualTo(1);
            fleet.awaitRouterIdle();
        }
    }

    @Test
    void aRefusedConnectionMovesToAnotherWorkerAndItsCircuitOpens() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0)) {
            deadPort = s.getLocalPort();
        }
        SimWorker live = SimWorker.start(SimConfig.builder().workerId("live").build());
        try (Fleet fleet = Fleet.withWorkers(List.of(live), "--policy", "round_robin", "--cb-failure-threshold", "2",
                "--retry-initial-backoff-ms", "1")) {
            fleet.router().registry().add(dev.vllmrouter.common.WorkerUrl.parse("http://127.0.0.1:" + deadPort));
            for (int i = 0; i < 10; i++) {
                assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
            }
            Worker dead = fleet.router().registry().snapshot().workers().stream()
                    .filter(w -> w.baseUrl().endsWith(":" + deadPort)).findFirst().orElseThrow();
            assertThat(dead.breaker().state()).isEqualTo(CircuitBreaker.State.OPEN);
            assertThat(dead.processed()).as("passed over once its circuit opened").isEqualTo(2);
            assertThat(chats(live)).isEqualTo(10);
            fleet.awaitRouterIdle();
        }
    }

    @Test
    void flappingHealthDoesNotFlapTheRotation() throws Exception {
        try (Fleet fleet = Fleet.start(2, "--health-check-interval-secs", "3600", "--health-failure-threshold", "3",
                "--health-success-threshold", "2")) {
            SimWorker flappy = fleet.worker(0);
            for (int i = 0; i < 4; i++) {
                flappy.faults().healthy(i % 2 == 1);
                fleet.router().healthChecker().round();
                assertThat(fleet.router().registry().snapshot().available())
                        .as("alternating probes never reach 3 failures in a row").hasSize(2);
            }
            flappy.faults().healthy(false);
            for (int i = 0; i < 3; i++) {
                fleet.router().healthChecker().round();
            }
            assertThat(fleet.router().registry().snapshot().available()).hasSize(1);
            flappy.faults().healthy(true);
            fleet.router().healthChecker().round();
            assertThat(fleet.router().registry().snapshot().available()).as("one good probe is not enough").hasSize(1);
            fleet.router().healthChecker().round();
            assertThat(fleet.router().registry().snapshot().available()).hasSize(2);
        }
    }

    @Test
    void allWorkersDownThenBackRecoversThroughHalfOpenTrials() throws Exception {
        SimWorker first = SimWorker.start(SimConfig.builder().workerId("w").build());
        int port = first.port();
        List<SimWorker> started = new ArrayList<>(List.of(first));
        try (Fleet fleet = Fleet.withWorkers(List.of(), "--cb-failure-threshold", "2", "--cb-timeout-duration-secs",
                "1", "--cb-success-threshold", "1", "--retry-initial-backoff-ms", "1")) {
            fleet.router().registry().add(dev.vllmrouter.common.WorkerUrl.parse(first.url()));
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
            first.close();
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(502);
            assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(502);
            assertThat(breaker(fleet, 0).state()).isEqualTo(CircuitBreaker.State.OPEN);
            HttpResponse<String> open = fleet.post("/v1/chat/completions", CHAT);
            assertThat(open.statusCode()).isEqualTo(503);
            assertThat(open.body()).contains("circuit is open");

            SimWorker back = SimWorker.start(SimConfig.builder().workerId("w").port(port).build());
            started.add(back);
            // after --cb-timeout-duration-secs a trial goes through, succeeds and closes the circuit
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                    .until(() -> fleet.post("/v1/chat/completions", CHAT).statusCode() == 200);
            assertThat(breaker(fleet, 0).state()).isEqualTo(CircuitBreaker.State.CLOSED);
            fleet.awaitRouterIdle();
        } finally {
            started.forEach(SimWorker::close);
        }
    }

    @Test
    void fiveHundredConcurrentClientsWhileAWorkerDiesEachGetExactlyOneAnswer() throws Exception {
        try (Fleet fleet = Fleet.start(3, "--policy", "round_robin", "--retry-initial-backoff-ms", "1")) {
            fleet.workers().forEach(w -> w.faults().latency(Duration.ofMillis(5), Duration.ofMillis(20)));
            List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                answers.add(fleet.http().sendAsync(HttpRequest.newBuilder(URI.create(fleet.url("/v1/completions")))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(STREAM)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            SimWorker victim = fleet.worker(2);
            await().atMost(Duration.ofSeconds(30)).until(() -> victim.inFlight() > 0);
            victim.close();

            int complete = 0;
            int cut = 0;
            int refused = 0;
            for (CompletableFuture<HttpResponse<String>> f : answers) {
                HttpResponse<String> res = f.get(60, TimeUnit.SECONDS);
                if (res.statusCode() == 200) {
                    assertThat(res.body()).endsWith("data: [DONE]\n\n");
                    if (res.body().contains("\"error\"")) {
                        cut++;
                    } else {
                        complete++;
                    }
                } else {
                    assertThat(res.statusCode()).as(res.body()).isIn(502, 503);
                    assertThat(JSON.readTree(res.body()).path("error").path("code").asInt())
                            .isEqualTo(res.statusCode());
                    refused++;
                }
            }
            assertThat(complete + cut + refused).isEqualTo(500);
            assertThat(complete).as("the surviving workers served the rest").isPositive();
            fleet.awaitRouterIdle();
            await().atMost(Duration.ofSeconds(10)).until(() -> fleet.router().admission().inFlight() == 0);
            assertThat(fleet.router().drain().active()).isZero();
        }
    }

    /** The circuit of the fleet's {@code i}-th simulated worker. */
    private static CircuitBreaker breaker(Fleet fleet, int i) {
        String base = fleet.workers().isEmpty() ? null : fleet.worker(i).url();
        return fleet.router().registry().snapshot().workers().stream()
                .filter(w -> base == null || w.baseUrl().equals(base))
                .findFirst().orElseThrow().breaker();
    }

    private static long chats(SimWorker w) {
        return posts(w, "/v1/chat/completions");
    }

    private static long posts(SimWorker w, String path) {
        return w.log().requests().stream().filter(r -> r.method().equals("POST") && r.path().equals(path)).count();
    }

    /** The SSE events of a stream body, one string per event (its lines joined). */
    private static List<String> events(String body) {
        List<String> events = new ArrayList<>();
        for (String e : body.split("\n\n")) {
            if (!e.isBlank()) {
                events.add(e.strip());
            }
        }
        return events;
    }
}
