package dev.vllmrouter;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Fleet;

import static org.assertj.core.api.Assertions.assertThat;

/** Health checks through real sockets; rounds are run on demand (the background interval is an hour). */
class HealthIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BODY = "{\"model\":\"demo\",\"prompt\":\"x\",\"max_tokens\":1}";

    private static long posts(SimWorker w) {
        return w.log().requests().stream().filter(r -> r.method().equals("POST")).count();
    }

    private static long healthProbes(SimWorker w) {
        return w.log().requests().stream().filter(r -> r.path().equals("/health")).count();
    }

    @Test
    void anUnhealthyWorkerLeavesRotationAndComesBack() throws Exception {
        try (Fleet fleet = Fleet.start(2, "--policy", "round_robin", "--health-check-interval-secs", "3600",
                "--health-failure-threshold", "2", "--health-success-threshold", "2")) {
            SimWorker sick = fleet.worker(0);
            sick.faults().healthy(false);
            fleet.router().healthChecker().round();
            assertThat(fleet.get("/readiness").statusCode()).as("one failed probe is not enough").isEqualTo(200);
            assertThat(JSON.readTree(fleet.get("/readiness").body()).path("healthy_workers").asInt()).isEqualTo(2);
            fleet.router().healthChecker().round();
            JsonNode ready = JSON.readTree(fleet.get("/readiness").body());
            assertThat(ready.path("healthy_workers").asInt()).isEqualTo(1);
            assertThat(ready.path("total_workers").asInt()).isEqualTo(2);
            assertThat(fleet.get("/health").statusCode()).as("one usable worker is enough").isEqualTo(200);
            sick.log().clear();
            for (int i = 0; i < 6; i++) {
                assertThat(fleet.post("/v1/completions", BODY).statusCode()).isEqualTo(200);
            }
            assertThat(posts(sick)).as("no traffic to an unhealthy worker").isZero();
            JsonNode workers = JSON.readTree(fleet.get("/workers").body()).path("workers");
            assertThat(workers.get(0).path("is_healthy").asBoolean()).isFalse();

            sick.faults().healthy(true);
            fleet.router().healthChecker().round();
            fleet.router().healthChecker().round();
            for (int i = 0; i < 6; i++) {
                assertThat(fleet.post("/v1/completions", BODY).statusCode()).isEqualTo(200);
            }
            assertThat(posts(sick)).as("back in rotation").isEqualTo(3);
        }
    }

    @Test
    void allWorkersDownThenBack() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--health-check-interval-secs", "3600", "--health-failure-threshold", "1",
                "--health-success-threshold", "1")) {
            fleet.worker(0).faults().healthy(false);
            fleet.router().healthChecker().round();
            HttpResponse<String> health = fleet.get("/health");
            assertThat(health.statusCode()).as("a liveness probe must not restart the router for its workers")
                    .isEqualTo(200);
            assertThat(health.body()).isEqualTo("OK: 0 of 1 workers usable; not ready (/readiness answers 503)");
            assertThat(fleet.get("/readiness").statusCode()).isEqualTo(503);
            HttpResponse<String> res = fleet.post("/v1/completions", BODY);
            assertThat(res.statusCode()).isEqualTo(503);
            assertThat(JSON.readTree(res.body()).path("error").path("type").asText())
                    .isEqualTo("ServiceUnavailableError");
            fleet.worker(0).faults().healthy(true);
            fleet.router().healthChecker().round();
            assertThat(fleet.post("/v1/completions", BODY).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aServerIsProbedOnceWhateverItsDataParallelRanks() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--intra-node-data-parallel-size", "4", "--health-check-interval-secs",
                "3600", "--health-check-endpoint", "/health")) {
            SimWorker w = fleet.worker(0);
            w.log().clear();
            fleet.router().healthChecker().round();
            assertThat(healthProbes(w)).isEqualTo(1);
            assertThat(fleet.router().registry().snapshot().workers()).hasSize(4);
            HttpResponse<String> ok = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/liveness"))).build());
            assertThat(ok.statusCode()).isEqualTo(200);
        }
    }
}
