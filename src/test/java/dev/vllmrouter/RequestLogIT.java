package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.testing.Fleet;

/** {@code --request-log}: one line per request, with the fields an operator needs and never a body. */
class RequestLogIT {
    private static final Logger REQUESTS = Logger.getLogger("dev.vllmrouter.requests");

    @Test
    void oneLinePerRequestWithWorkerTtftAndNoBody() {
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        REQUESTS.addHandler(capture);
        REQUESTS.setLevel(Level.INFO);
        try (Fleet fleet = Fleet.start(1, "--request-log", "--log-format", "json")) {
            fleet.post("/v1/completions", "{\"model\":\"demo\",\"stream\":true,\"max_tokens\":3,"
                    + "\"prompt\":\"a secret prompt\"}");
            fleet.post("/v1/chat/completions", "{bad");
            await().atMost(Duration.ofSeconds(10)).until(() -> records.size() >= 2);

            Map<String, Object> stream = fields(records.get(0));
            assertThat(stream.get("route")).isEqualTo("/v1/completions");
            assertThat(stream.get("status")).isEqualTo(200);
            assertThat(stream.get("model")).isEqualTo("demo");
            assertThat(stream.get("worker")).isEqualTo(fleet.worker(0).url());
            assertThat(stream.get("attempts")).isEqualTo(1);
            assertThat((Double) stream.get("ttft_ms")).isPositive();
            assertThat((Double) stream.get("duration_ms")).isGreaterThanOrEqualTo((Double) stream.get("ttft_ms"));
            assertThat(String.valueOf(stream.get("request_id"))).startsWith("cmpl-");

            Map<String, Object> bad = fields(records.get(1));
            assertThat(bad.get("status")).isEqualTo(400);
            assertThat(bad.get("error_type")).isEqualTo("bad_request");
            assertThat(bad).doesNotContainKey("worker");

            String json = new JsonLogFormatter().format(records.get(0));
            assertThat(json).doesNotContain("secret");
        } finally {
            REQUESTS.removeHandler(capture);
        }
    }

    @Test
    void theJsonFormatterWritesOneParsableObjectPerLine() throws Exception {
        LogRecord r = new LogRecord(Level.INFO, "request");
        r.setLoggerName("dev.vllmrouter.requests");
        r.setParameters(new Object[]{Map.of("route", "/v1/x\"y", "status", 200)});
        String line = new JsonLogFormatter().format(r);
        assertThat(line).endsWith("}\n").doesNotContain("\n{");
        JsonNode node = new ObjectMapper().readTree(line);
        assertThat(node.path("route").asText()).isEqualTo("/v1/x\"y");
        assertThat(node.path("status").asInt()).isEqualTo(200);
        assertThat(node.path("level").asText()).isEqualTo("INFO");

        LogRecord plain = new LogRecord(Level.WARNING, "worker {0}: circuit {1}");
        plain.setParameters(new Object[]{"http://w", "OPEN"});
        plain.setThrown(new IllegalStateException("boom\nline two"));
        JsonNode p = new ObjectMapper().readTree(new JsonLogFormatter().format(plain));
        assertThat(p.path("message").asText()).isEqualTo("worker http://w: circuit OPEN");
        assertThat(p.path("exception").asText()).contains("boom");
    }

    private static Map<String, Object> fields(LogRecord r) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) r.getParameters()[0];
        return m;
    }
}
