package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.testing.Fleet;

/**
 * The bad-input suite: each malformed request gets one clear 4xx and nothing else is disturbed — after every case the
 * router still answers a good request and holds no lease. docs/reliability.md lists the same cases.
 */
class BadInputIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";
    private static Fleet fleet;

    @BeforeAll
    static void start() {
        fleet = Fleet.start(1, "--max-payload-size", "4096", "--client-body-timeout-secs", "1");
    }

    @AfterAll
    static void stop() {
        fleet.close();
    }

    @AfterEach
    void routerIsUnaffected() {
        assertThat(fleet.post("/v1/chat/completions", CHAT).statusCode()).isEqualTo(200);
        fleet.awaitRouterIdle();
        assertThat(chatsWithBody("never")).as("no bad request reached a worker").isZero();
    }

    @Test
    void malformedJson() throws Exception {
        assertError(fleet.post("/v1/chat/completions", "{\"model\": \"demo\", \"messages\": ["), 400,
                "Invalid JSON body");
    }

    @Test
    void jsonThatIsNotAnObject() throws Exception {
        assertError(fleet.post("/v1/completions", "[1, 2]"), 400, "must be a JSON object");
    }

    @Test
    void wrongContentType() throws Exception {
        HttpResponse<String> res = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/chat/completions")))
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build());
        assertError(res, 415, "Content-Type");
    }

    @Test
    void emptyBody() throws Exception {
        assertError(fleet.post("/v1/chat/completions", ""), 400, "empty");
    }

    @Test
    void bodyOverTheLimitByContentLength() throws Exception {
        assertError(fleet.post("/v1/completions", "{\"prompt\":\"" + "x".repeat(5000) + "\"}"), 413,
                "--max-payload-size");
    }

    @Test
    void chunkedBodyOverTheLimit() throws Exception {
        String answer = raw("POST /v1/completions HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n" + chunk("{\"prompt\":\"" + "x".repeat(3000))
                + chunk("x".repeat(3000) + "\"}") + "0\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 413");
        assertThat(answer).contains("PayloadTooLargeError");
    }

    @Test
    void invalidUtf8() throws Exception {
        byte[] head = "{\"model\":\"demo\",\"prompt\":\"".getBytes(StandardCharsets.US_ASCII);
        byte[] body = new byte[head.length + 4];
        System.arraycopy(head, 0, body, 0, head.length);
        body[head.length] = (byte) 0xC3; // a lead byte followed by no continuation byte
        body[head.length + 1] = (byte) 0x28;
        body[head.length + 2] = '"';
        body[head.length + 3] = '}';
        HttpResponse<String> res = fleet.send(HttpRequest.newBuilder(URI.create(fleet.url("/v1/completions")))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build());
        assertError(res, 400, "UTF-8");
    }

    @Test
    void hugeHeaders() throws Exception {
        String answer = raw("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\nX-Big: " + "a".repeat(64 * 1024)
                + "\r\nContent-Type: application/json\r\nContent-Length: " + CHAT.length() + "\r\n\r\n" + CHAT);
        assertThat(answer).matches("(?s)HTTP/1.1 4(00|31) .*").contains("\"type\":\"BadRequestError\"");
    }

    @Test
    void unknownModel() throws Exception {
        HttpResponse<String> res = fleet.post("/v1/chat/completions", CHAT.replace("\"demo\"", "\"gpt-9\""));
        assertError(res, 404, "gpt-9");
        assertThat(JSON.readTree(res.body()).path("error").path("param").asText()).isEqualTo("model");
    }

    @Test
    void unknownRouteGetsTheWorkersOwn404() {
        HttpResponse<String> res = fleet.post("/v1/no/such/route", "{}");
        assertThat(res.statusCode()).isEqualTo(404);
    }

    @Test
    void aClientThatNeverFinishesItsBodyGets408() throws Exception {
        String answer = raw("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\n"
                + "Content-Length: 1000\r\n\r\n{\"model\":\"demo\",\"prompt\":\"never");
        assertThat(answer).startsWith("HTTP/1.1 408");
        assertThat(answer).contains("RequestTimeoutError");
    }

    @Test
    void conflictingContentLengthAndTransferEncoding() throws Exception {
        String answer = raw("POST /v1/completions HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\n"
                + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk("{\"model\":\"demo\",\"prompt\":\"never\"}")
                + "0\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 400").contains("\"type\":\"BadRequestError\"");
    }

    @Test
    void twoDifferentContentLengths() throws Exception {
        String answer = raw("POST /v1/completions HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\n"
                + "Content-Length: 5\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
        assertThat(answer).startsWith("HTTP/1.1 400").contains("\"type\":\"BadRequestError\"");
    }

    private static void assertError(HttpResponse<String> res, int status, String messagePart) throws IOException {
        assertThat(res.statusCode()).as(res.body()).isEqualTo(status);
        JsonNode error = JSON.readTree(res.body()).path("error");
        assertThat(error.path("code").asInt()).isEqualTo(status);
        assertThat(error.path("type").asText()).endsWith("Error");
        assertThat(error.path("message").asText()).contains(messagePart);
        assertThat(res.headers().firstValue("x-request-id")).isPresent();
    }

    private static long chatsWithBody(String part) {
        return fleet.worker(0).log().requests().stream().filter(r -> r.bodyText().contains(part)).count();
    }

    private static String chunk(String data) {
        return Integer.toHexString(data.getBytes(StandardCharsets.UTF_8).length) + "\r\n" + data + "\r\n";
    }

    /** Sends {@code request} as is on a fresh connection; returns what the router answered until it closed or paused. */
    private static String raw(String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", fleet.router().port())) {
            s.setSoTimeout(15_000);
            OutputStream out = s.getOutputStream();
            out.write(request.getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = in.read(buf)) > 0) {
                    answer.write(buf, 0, n);
                    if (complete(answer.toString(StandardCharsets.UTF_8))) {
                        break;
                    }
                }
            } catch (SocketTimeoutException | java.net.SocketException e) {
                // what arrived so far is the answer
            }
            return answer.toString(StandardCharsets.UTF_8);
        }
    }

    /** Whether {@code text} holds a whole response with a Content-Length body. */
    private static boolean complete(String text) {
        int end = text.indexOf("\r\n\r\n");
        if (end < 0) {
            return false;
        }
        for (String line : text.substring(0, end).split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                int length = Integer.parseInt(line.substring(15).trim());
                return text.getBytes(StandardCharsets.UTF_8).length >= end + 4 + length;
            }
        }
        return false;
    }
}
