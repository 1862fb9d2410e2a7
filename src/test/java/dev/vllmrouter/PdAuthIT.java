package dev.vllmrouter;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.sim.RecordedRequest;
import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The prefill/decode workers' key: vLLM servers started with {@code --api-key} (the simulated worker checks it as
 * vLLM does) get {@code OPENAI_API_KEY} on both legs, as from vllm-router, unless {@code --api-key} is given.
 */
class PdAuthIT {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final String BODY = "{\"model\":\"demo\",\"prompt\":\"x\",\"max_tokens\":2}";

    private static HttpResponse<String> post(RouterApp router, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(router.url() + "/v1/completions"))
                .header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(b.POST(HttpRequest.BodyPublishers.ofString(BODY)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static RouterApp router(Map<String, String> env, SimWorker p, SimWorker d, String... extra) {
        List<String> args = new ArrayList<>(List.of("--port", "0", "--prometheus-port", "0",
                "--vllm-pd-disaggregation", "--prefill", p.url(), "--decode", d.url()));
        args.addAll(List.of(extra));
        return RouterApp.start(RouterCli.parse(env, args.toArray(String[]::new)));
    }

    private static List<RecordedRequest> posts(SimWorker... workers) {
        List<RecordedRequest> out = new ArrayList<>();
        for (SimWorker w : workers) {
            w.log().requests().stream().filter(r -> r.method().equals("POST")).forEach(out::add);
        }
        return out;
    }

    @Test
    void openAiApiKeyReachesBothLegsAndApiKeyTakesPrecedence() throws Exception {
        try (SimWorker p = SimWorker.start(SimConfig.builder().apiKey("env-key").build());
             SimWorker d = SimWorker.start(SimConfig.builder().apiKey("env-key").build())) {
            try (RouterApp router = router(Map.of("OPENAI_API_KEY", "env-key"), p, d)) {
                HttpResponse<String> res = post(router, "Authorization", "Bearer client-key");
                assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
                assertThat(posts(p, d)).hasSize(2).allSatisfy(r ->
                        assertThat(r.header("authorization")).hasValue("Bearer env-key"));
            }
            try (RouterApp router = router(Map.of(), p, d)) {
                HttpResponse<String> res = post(router);
                assertThat(res.statusCode()).as("no key: the prefill worker refuses").isEqualTo(401);
                assertThat(p.log().unauthorized()).isPositive();
            }
        }
        try (SimWorker p = SimWorker.start(SimConfig.builder().apiKey("flag-key").build());
             SimWorker d = SimWorker.start(SimConfig.builder().apiKey("flag-key").build());
             RouterApp router = router(Map.of("OPENAI_API_KEY", "env-key"), p, d, "--api-key", "flag-key")) {
            assertThat(post(router).statusCode()).as("--api-key wins over OPENAI_API_KEY").isEqualTo(200);
            assertThat(posts(p, d)).hasSize(2).allSatisfy(r ->
                    assertThat(r.header("authorization")).hasValue("Bearer flag-key"));
        }
    }

    @Test
    void aClientsKeyForTheRouterNeverReachesTheWorkers() throws Exception {
        try (SimWorker p = SimWorker.start(SimConfig.builder().apiKey("env-key").build());
             SimWorker d = SimWorker.start(SimConfig.builder().apiKey("env-key").build());
             RouterApp router = router(Map.of("OPENAI_API_KEY", "env-key"), p, d,
                     "--client-api-keys", "router-key")) {
            assertThat(post(router, "Authorization", "Bearer router-key").statusCode()).isEqualTo(200);
            assertThat(posts(p, d)).hasSize(2).allSatisfy(r ->
                    assertThat(r.header("authorization")).hasValue("Bearer env-key"));
        }
        try (SimWorker p = SimWorker.start(SimConfig.builder().build());
             SimWorker d = SimWorker.start(SimConfig.builder().build());
             RouterApp router = router(Map.of(), p, d, "--client-api-keys", "router-key")) {
            assertThat(post(router, "Authorization", "Bearer router-key").statusCode()).isEqualTo(200);
            assertThat(posts(p, d)).hasSize(2).allSatisfy(r ->
                    assertThat(r.header("authorization")).as("no worker key: nothing").isEmpty());
        }
    }
}
