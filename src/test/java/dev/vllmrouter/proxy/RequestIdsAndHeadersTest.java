package dev.vllmrouter.proxy;

import java.util.LinkedHashMap;
import java.util.Map;

import io.helidon.http.HeaderNames;
import io.helidon.http.WritableHeaders;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.config.RouterConfig;

import static org.assertj.core.api.Assertions.assertThat;

class RequestIdsAndHeadersTest {
    private final RequestIds ids = new RequestIds(RouterConfig.DEFAULT_REQUEST_ID_HEADERS, RandomSource.seeded(1));

    @Test
    void idComesFromTheFirstConfiguredHeaderPresent() {
        WritableHeaders<?> h = WritableHeaders.create();
        h.set(HeaderNames.create("X-Trace-Id"), "trace-1");
        h.set(HeaderNames.create("X-Correlation-Id"), "corr-1");
        assertThat(ids.resolve(h, "/v1/completions").value()).isEqualTo("corr-1");
        assertThat(ids.resolve(h, "/v1/completions").forWorker()).as("a client id goes to the worker as is")
                .isEqualTo("corr-1");
    }

    @Test
    void generatedIdsHaveThePathPrefix() {
        WritableHeaders<?> none = WritableHeaders.create();
        assertThat(ids.resolve(none, "/v1/chat/completions").value()).matches("chatcmpl-[A-Za-z0-9]{24}");
        assertThat(ids.resolve(none, "/v1/completions").value()).matches("cmpl-[A-Za-z0-9]{24}");
        assertThat(ids.resolve(none, "/generate").value()).matches("gnt-[A-Za-z0-9]{24}");
        assertThat(ids.resolve(none, "/v1/embeddings").value()).matches("req-[A-Za-z0-9]{24}");
        RequestId chat = ids.resolve(none, "/v1/chat/completions");
        assertThat("chatcmpl-" + chat.forWorker()).as("vLLM re-adds its prefix: same id in body and header")
                .isEqualTo(chat.value());
    }

    @Test
    void unprintableClientIdsAreReplaced() {
        WritableHeaders<?> h = WritableHeaders.create();
        h.set(HeaderNames.create("x-request-id"), "   ");
        assertThat(ids.resolve(h, "/x").value()).startsWith("req-");
    }

    @Test
    void hopByHopHeadersStayAndRouterHeadersAreSet() {
        WritableHeaders<?> client = WritableHeaders.create();
        client.set(HeaderNames.create("Connection"), "keep-alive, X-Secret-Hop");
        client.set(HeaderNames.create("X-Secret-Hop"), "1");
        client.set(HeaderNames.create("Keep-Alive"), "timeout=5");
        client.set(HeaderNames.create("Host"), "router:30000");
        client.set(HeaderNames.create("Content-Length"), "10");
        client.set(HeaderNames.create("Transfer-Encoding"), "chunked");
        client.set(HeaderNames.create("X-Request-Id"), "client-id");
        client.set(HeaderNames.create("X-data-parallel-rank"), "7");
        client.set(HeaderNames.create("Authorization"), "Bearer client");
        client.set(HeaderNames.create("X-Custom"), "kept");
        client.set(HeaderNames.create("Content-Type"), "application/json");

        Map<String, String> out = new LinkedHashMap<>();
        new HeaderRules("worker-key").toWorker(client, RequestId.of("rid-1"), 2,
                (n, v) -> assertThat(out.put(n.toLowerCase(), v)).as("header sent twice: " + n).isNull());
        assertThat(out.keySet()).containsExactlyInAnyOrder("x-custom", "content-type", "x-request-id", "authorization",
                "x-data-parallel-rank");
        assertThat(out.get("x-request-id")).isEqualTo("rid-1");
        assertThat(out.get("authorization")).isEqualTo("Bearer worker-key");
        assertThat(out.get("x-data-parallel-rank")).isEqualTo("2");

        Map<String, String> plain = new LinkedHashMap<>();
        new HeaderRules(null).toWorker(client, RequestId.of("rid-2"), -1, (n, v) -> plain.put(n.toLowerCase(), v));
        assertThat(plain.get("authorization")).as("client's key passes without --api-key").isEqualTo("Bearer client");
        assertThat(plain.get("x-data-parallel-rank")).as("client's rank for a plain worker").isEqualTo("7");
    }
}
