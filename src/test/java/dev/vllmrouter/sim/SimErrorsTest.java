package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Flow;

import static dev.vllmrouter.sim.SimClient.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Request validation answers with vLLM's error envelope and status codes. */
class SimErrorsTest {
    private static SimWorker worker;
    private static SimClient client;

    @BeforeAll
    static void start() {
        worker = SimWorker.start(SimConfig.builder().models("known").maxPayloadBytes(1024).build());
        client = new SimClient(worker);
    }

    @AfterAll
    static void stop() {
        worker.close();
    }

    private static JsonNode error(HttpResponse<String> res, int status, String type) {
        assertThat(res.statusCode()).isEqualTo(status);
        assertThat(res.headers().firstValue("content-type")).hasValue("application/json");
        JsonNode error = json(res).get("error");
        assertThat(error.get("type").asText()).isEqualTo(type);
        assertThat(error.get("code").asInt()).isEqualTo(status);
        assertThat(error.has("param")).isTrue();
        assertThat(error.get("param").isNull()).isTrue();
        assertThat(error.get("message").asText()).isNotBlank();
        return error;
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "/v1/chat/completions | {\"messages\": [",
            "/v1/completions      | not json",
            "/v1/completions      | ''",
            "/v1/embeddings       | [1,2]",
            "/v1/chat/completions | {\"messages\":[]} trailing",
    })
    void malformedJsonIs400(String path, String body) {
        error(client.postJson(path, body), 400, "BadRequestError");
        await().atMost(SimClient.TIMEOUT).until(() -> worker.inFlight() == 0);
    }

    @Test
    void nonJsonContentTypeIs400() {
        JsonNode e = error(client.post("/v1/chat/completions", "text/plain",
                "{\"messages\":[]}".getBytes(StandardCharsets.UTF_8)), 400, "BadRequestError");
        assertThat(e.get("message").asText()).contains("application/json");
        error(client.post("/v1/completions", null, "{\"prompt\":\"x\"}".getBytes(StandardCharsets.UTF_8)),
                400, "BadRequestError");
        assertThat(client.post("/v1/completions", "application/json; charset=utf-8",
                "{\"prompt\":\"x\"}".getBytes(StandardCharsets.UTF_8)).statusCode()).isEqualTo(200);
    }

    @Test
    void missingMessagesOrPromptIs400() {
        assertThat(error(client.postJson("/v1/chat/completions", "{\"model\":\"known\"}"), 400, "BadRequestError")
                .get("message").asText()).contains("messages");
        assertThat(error(client.postJson("/v1/completions", "{\"model\":\"known\"}"), 400, "BadRequestError")
                .get("message").asText()).contains("prompt");
        error(client.postJson("/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":0}"), 400, "BadRequestError");
    }

    @Test
    void unknownModelIs404NotFoundError() {
        JsonNode e = error(client.postJson("/v1/chat/completions", "{\"model\":\"foo\",\"messages\":[]}"),
                404, "NotFoundError");
        assertThat(e.get("message").asText()).isEqualTo("The model `foo` does not exist.");
        error(client.postJson("/v1/embeddings", "{\"model\":\"foo\",\"input\":\"x\"}"), 404, "NotFoundError");
        assertThat(worker.served()).isZero();
    }

    @Test
    void bodyLargerThanLimitIs413WithContentLength() {
        byte[] big = new byte[2048];
        Arrays.fill(big, (byte) 'a');
        HttpResponse<String> res = client.post("/v1/completions", "application/json", big);
        error(res, 413, "Request Entity Too Large");
        RecordedRequest recorded = worker.log().awaitRequest(r -> r.path().equals("/v1/completions")
                && r.body().length == 0, SimClient.TIMEOUT);
        assertThat(recorded.method()).isEqualTo("POST");
        // the connection stays usable
        assertThat(client.postJson("/v1/completions", "{\"prompt\":\"x\"}").statusCode()).isEqualTo(200);
    }

    @Test
    void bodyLargerThanLimitIs413WhenChunked() throws IOException {
        byte[] big = new byte[4096];
        Arrays.fill(big, (byte) 'b');
        // a publisher of unknown length makes HttpClient send Transfer-Encoding: chunked
        HttpRequest.BodyPublisher chunked = new HttpRequest.BodyPublisher() {
            private final HttpRequest.BodyPublisher delegate = HttpRequest.BodyPublishers.ofByteArray(big);

            @Override
            public long contentLength() {
                return -1;
            }

            @Override
            public void subscribe(Flow.Subscriber<? super java.nio.ByteBuffer> subscriber) {
                delegate.subscribe(subscriber);
            }
        };
        HttpRequest request = HttpRequest.newBuilder(java.net.URI.create(worker.url() + "/v1/completions"))
                .timeout(SimClient.TIMEOUT).header("Content-Type", "application/json").POST(chunked).build();
        error(client.send(request, HttpResponse.BodyHandlers.ofString()), 413, "Request Entity Too Large");
    }
}
