package dev.vllmrouter;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import dev.vllmrouter.testing.Fleet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With an admin key, a client key reaches on a worker only vLLM's client routes: every other path the transparent
 * proxy would forward needs the admin key — one route per case, the ones a client key reached before included.
 */
class AdminSurfaceIT {
    private static Fleet fleet;

    @BeforeAll
    static void start() {
        fleet = Fleet.start(1, "--admin-api-key", "adm", "--client-api-keys", "k1");
    }

    @AfterAll
    static void stop() {
        fleet.close();
    }

    private static HttpResponse<String> call(String method, String path, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fleet.url(path)))
                .method(method, method.equals("GET") ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString("{}"))
                .header("Content-Type", "application/json");
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return fleet.send(b.build());
    }

    private static boolean workerSaw(String method, String path) {
        return fleet.worker(0).log().requests().stream()
                .anyMatch(r -> r.method().equals(method) && r.path().equals(path));
    }

    @ParameterizedTest(name = "{0} {1} needs the admin key")
    @CsvSource({"POST,/pause", "POST,/resume", "POST,/update_weights", "POST,/init_weight_transfer_engine",
            "POST,/reset_encoder_cache", "GET,/server_info", "GET,/is_sleeping", "POST,/reset_prefix_cache",
            "POST,/reset_mm_cache", "POST,/v1/load_lora_adapter", "POST,/v1/unload_lora_adapter", "POST,/sleep",
            "POST,/wake_up", "POST,/collective_rpc", "POST,/start_profile", "POST,/stop_profile",
            "POST,/scale_elastic_ep", "GET,/metrics", "POST,/a/route/a/newer/vllm/adds",
            "POST,/reset%5Fprefix%5Fcache"})
    void workerAdminRoutes(String method, String path) {
        fleet.worker(0).log().clear();
        assertThat(call(method, path, "k1").statusCode()).as("a client key").isEqualTo(401);
        assertThat(call(method, path, null).statusCode()).as("no key").isEqualTo(401);
        String decoded = java.net.URLDecoder.decode(path, java.nio.charset.StandardCharsets.UTF_8);
        assertThat(workerSaw(method, path) || workerSaw(method, decoded)).as("refused before the worker").isFalse();
        assertThat(call(method, path, "adm").statusCode()).as("the admin key").isNotEqualTo(401);
        assertThat(workerSaw(method, path)).as("the admin key passes it on").isTrue();
    }

    @ParameterizedTest(name = "POST {0} takes a client key")
    @ValueSource(strings = {"/v1/audio/transcriptions", "/v1/audio/translations", "/v1/messages", "/v1/score",
            "/score", "/pooling", "/classify", "/tokenize", "/detokenize", "/v2/rerank"})
    void clientRoutes(String path) {
        fleet.worker(0).log().clear();
        assertThat(call("POST", path, null).statusCode()).as("no key").isEqualTo(401);
        assertThat(call("POST", path, "k1").statusCode()).isNotEqualTo(401);
        assertThat(workerSaw("POST", path)).isTrue();
    }

    @ParameterizedTest(name = "GET {0} takes a client key")
    @ValueSource(strings = {"/version", "/load"})
    void readOnlyClientRoutes(String path) {
        assertThat(call("GET", path, "k1").statusCode()).isEqualTo(200);
    }

    @ParameterizedTest(name = "GET {0} needs no key")
    @ValueSource(strings = {"/ping", "/health_generate"})
    void probes(String path) {
        assertThat(call("GET", path, null).statusCode()).isNotEqualTo(401);
        assertThat(List.of(path)).allMatch(p -> workerSaw("GET", p));
    }
}
