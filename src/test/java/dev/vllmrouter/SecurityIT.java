package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vllmrouter.testing.Fleet;
import dev.vllmrouter.testing.Scrape;

/** Inbound API keys (static, admin, validation services) and CORS, end to end. */
class SecurityIT {
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";

    @Test
    void clientKeysGuardEveryRouteButTheProbes(@TempDir Path dir) throws Exception {
        Path keys = dir.resolve("keys.txt");
        Files.writeString(keys, "# team keys\nk-file\n\n");
        try (Fleet fleet = Fleet.start(1, "--client-api-keys", "k1,k2", "--client-api-keys-file", keys.toString())) {
            HttpResponse<String> none = chat(fleet, null);
            assertThat(none.statusCode()).isEqualTo(401);
            assertThat(none.body()).contains("\"type\":\"AuthenticationError\"").contains("\"code\":401");
            assertThat(none.headers().firstValue("www-authenticate")).hasValue("Bearer");
            assertThat(none.headers().firstValue("x-request-id")).isPresent();
            assertThat(chat(fleet, "Bearer wrong").statusCode()).isEqualTo(401);
            assertThat(chat(fleet, "Basic k1").statusCode()).isEqualTo(401);
            assertThat(chat(fleet, "Bearer k1").statusCode()).isEqualTo(200);
            assertThat(chat(fleet, "bearer k2").statusCode()).as("the scheme is case-insensitive").isEqualTo(200);
            assertThat(chat(fleet, "Bearer k-file").statusCode()).isEqualTo(200);

            assertThat(fleet.get("/health").statusCode()).isEqualTo(200);
            assertThat(fleet.get("/readiness").statusCode()).isEqualTo(200);
            assertThat(fleet.get("/liveness").statusCode()).isEqualTo(200);
            assertThat(fleet.get("/health_generate").statusCode()).as("a probe path, passed to a worker (vLLM: 404)")
                    .isEqualTo(404);
            assertThat(fleet.get("/v1/models").statusCode()).isEqualTo(401);
            assertThat(fleet.get("/list_workers").statusCode()).as("no admin key: admin routes take client keys")
                    .isEqualTo(401);
            assertThat(get(fleet, "/list_workers", "Bearer k1").statusCode()).isEqualTo(200);
            assertThat(Scrape.from(fleet.router().metricsPort())
                    .value("vllm_router_http_request_errors_total{error_type=\"unauthorized\","
                            + "route=\"/v1/chat/completions\"}")).isEqualTo(3);
            assertThat(fleet.worker(0).log().requests().stream()
                    .filter(r -> r.path().equals("/v1/chat/completions"))
                    .allMatch(r -> r.header("authorization").isEmpty()))
                    .as("the router's key is not passed to workers").isTrue();
        }
    }

    @Test
    void anAdminKeyGuardsTheAdminRoutesOnly() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--admin-api-key", "adm")) {
            assertThat(chat(fleet, null).statusCode()).as("client routes stay open").isEqualTo(200);
            assertThat(fleet.get("/list_workers").statusCode()).isEqualTo(401);
            assertThat(get(fleet, "/list_workers", "Bearer nope").statusCode()).isEqualTo(401);
            HttpResponse<String> ok = get(fleet, "/list_workers", "Bearer adm");
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/add_worker?url=http://127.0.0.1:1")))
                    .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode()).isEqualTo(401);
            // vLLM's own state-changing routes, reached through the transparent proxy, are admin routes too
            for (String path : List.of("/reset_prefix_cache", "/v1/load_lora_adapter", "/sleep",
                    "/reset%5Fprefix%5Fcache", "/%73leep")) {
                assertThat(fleet.send(HttpRequest.newBuilder(URI.create(fleet.url(path)))
                        .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode()).as(path).isEqualTo(401);
            }
            assertThat(fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/reset_prefix_cache")))
                    .header("Authorization", "Bearer adm").POST(HttpRequest.BodyPublishers.noBody()).build())
                    .statusCode()).as("the admin key passes them to the worker").isEqualTo(200);
        }
        try (Fleet fleet = Fleet.start(1, "--admin-api-key", "adm", "--client-api-keys", "k1")) {
            assertThat(get(fleet, "/list_workers", "Bearer k1").statusCode()).as("a client key is not an admin key")
                    .isEqualTo(401);
            assertThat(chat(fleet, "Bearer adm").statusCode()).as("the admin key works everywhere").isEqualTo(200);
        }
    }

    @Test
    void withoutAnAdminKeyABrowserCannotDriveTheAdminApi() throws Exception {
        try (dev.vllmrouter.sim.SimWorker evil = dev.vllmrouter.sim.SimWorker.start(
                dev.vllmrouter.sim.SimConfig.builder().build());
             Fleet fleet = Fleet.start(1)) {
            String add = "/add_worker?url=" + java.net.URLEncoder.encode(evil.url(), java.nio.charset.StandardCharsets.UTF_8);
            // what a page on another site can send without a preflight: a simple POST with a form type
            HttpResponse<String> forged = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url(add)))
                    .header("Origin", "http://evil.example")
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.noBody()).build());
            assertThat(forged.statusCode()).isEqualTo(403);
            assertThat(forged.body()).contains("PermissionDeniedError");
            HttpResponse<String> rebound = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url(
                    "/remove_worker?url=" + fleet.worker(0).url())))
                    .header("Sec-Fetch-Site", "same-origin") // DNS rebinding: the page looks same-origin
                    .POST(HttpRequest.BodyPublishers.noBody()).build());
            assertThat(rebound.statusCode()).isEqualTo(403);
            assertThat(fleet.router().registry().snapshot().workers()).extracting(w -> w.baseUrl())
                    .containsExactly(fleet.worker(0).url());
            assertThat(fleet.get("/list_workers").statusCode()).as("reading is harmless").isEqualTo(200);
            assertThat(fleet.send(HttpRequest.newBuilder(URI.create(fleet.url(add)))
                    .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode())
                    .as("a script (no Origin) still can").isEqualTo(200);
        }
        try (Fleet fleet = Fleet.start(1, "--admin-api-key", "adm")) {
            assertThat(fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/flush_cache")))
                    .header("Origin", "https://console.example").header("Authorization", "Bearer adm")
                    .POST(HttpRequest.BodyPublishers.noBody()).build()).statusCode())
                    .as("with an admin key a browser may call it: the key cannot be forged").isEqualTo(200);
        }
    }

    @Test
    void validationServicesAreAskedOnceAndTheirAnswerCached() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        HttpServer validator = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        validator.createContext("/check", exchange -> {
            calls.incrementAndGet();
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            exchange.sendResponseHeaders("Bearer good".equals(auth) ? 200 : 403, -1);
            exchange.close();
        });
        validator.start();
        int deadPort;
        try (ServerSocket s = new ServerSocket(0)) {
            deadPort = s.getLocalPort();
        }
        try (Fleet fleet = Fleet.start(1, "--api-key-validation-urls",
                "http://127.0.0.1:" + deadPort + "/down,http://127.0.0.1:" + validator.getAddress().getPort()
                        + "/check")) {
            assertThat(chat(fleet, "Bearer good").statusCode()).as("an unreachable service is skipped")
                    .isEqualTo(200);
            assertThat(chat(fleet, "Bearer good").statusCode()).isEqualTo(200);
            assertThat(calls.get()).as("the answer is cached").isEqualTo(1);
            assertThat(chat(fleet, "Bearer bad").statusCode()).isEqualTo(401);
            assertThat(chat(fleet, "Bearer bad").statusCode()).isEqualTo(401);
            assertThat(calls.get()).as("a refusal is not cached while another service gives no verdict")
                    .isEqualTo(3);
            assertThat(chat(fleet, null).statusCode()).isEqualTo(401);
            assertThat(calls.get()).as("no key, no call").isEqualTo(3);
        } finally {
            validator.stop(0);
        }
    }

    @Test
    void corsAllowsAnyOriginByDefault() throws Exception {
        try (Fleet fleet = Fleet.start(1)) {
            HttpResponse<String> preflight = preflight(fleet, "https://app.example.com");
            assertThat(preflight.statusCode()).isEqualTo(204);
            assertThat(preflight.headers().firstValue("access-control-allow-origin")).hasValue("*");
            assertThat(preflight.headers().firstValue("access-control-max-age")).hasValue("3600");
            assertThat(fleet.worker(0).log().requests()).noneMatch(r -> r.method().equals("OPTIONS"));

            HttpResponse<String> res = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                    .header("Origin", "https://app.example.com").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(res.headers().allValues("access-control-allow-origin")).containsExactly("*");
            assertThat(res.headers().firstValue("access-control-expose-headers")).hasValue("*");
        }
    }

    @Test
    void corsWithAListAllowsOnlyThoseOriginsAndSkipsAuthOnPreflight() throws Exception {
        try (Fleet fleet = Fleet.start(1, "--cors-allowed-origins", "https://app.example.com",
                "--client-api-keys", "k1")) {
            HttpResponse<String> ok = preflight(fleet, "https://app.example.com");
            assertThat(ok.statusCode()).isEqualTo(204);
            assertThat(ok.headers().firstValue("access-control-allow-origin")).hasValue("https://app.example.com");
            assertThat(ok.headers().firstValue("access-control-allow-methods")).hasValue("GET, POST, OPTIONS");
            assertThat(ok.headers().firstValue("access-control-allow-headers"))
                    .hasValue("Content-Type, Authorization");

            assertThat(preflight(fleet, "https://evil.example.com").statusCode()).isEqualTo(403);
            HttpResponse<String> res = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                    .header("Origin", "https://evil.example.com").header("Content-Type", "application/json")
                    .header("Authorization", "Bearer k1").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(res.headers().firstValue("access-control-allow-origin")).isEmpty();
            HttpResponse<String> allowed = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                    .header("Origin", "https://app.example.com").header("Content-Type", "application/json")
                    .header("Authorization", "Bearer k1").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
            assertThat(allowed.headers().firstValue("access-control-expose-headers")).hasValue("x-request-id");
        }
    }

    private static HttpResponse<String> preflight(Fleet fleet, String origin) {
        return fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", origin).header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "content-type, authorization").build());
    }

    private static HttpResponse<String> chat(Fleet fleet, String authorization) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(CHAT));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return fleet.send(b.build());
    }

    private static HttpResponse<String> get(Fleet fleet, String path, String authorization) throws IOException {
        return fleet.send(HttpRequest.newBuilder(URI.create(fleet.url(path))).header("Authorization", authorization)
                .build());
    }
}
