package dev.vllmrouter.sim;

import io.helidon.http.Header;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;

/**
 * The few ways the simulator answers a plain (non-streaming) HTTP request, with the headers vLLM sends:
 * JSON bodies as {@code application/json}, Prometheus text, FastAPI's {@code {"detail": ...}} for unknown
 * routes and empty 200/503 for health. Every body is sent with a Content-Length (one write).
 */
final class Replies {
    static final Header SSE_CONTENT_TYPE = HeaderValues.create(HeaderNames.CONTENT_TYPE,
            "text/event-stream; charset=utf-8");
    static final Header PROMETHEUS_CONTENT_TYPE = HeaderValues.create(HeaderNames.CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8");
    private static final byte[] NOT_FOUND = ByteSink.bytes("{\"detail\":\"Not Found\"}");
    private static final byte[] NOT_ALLOWED = ByteSink.bytes("{\"detail\":\"Method Not Allowed\"}");

    private Replies() {
    }

    static void json(ServerResponse res, int status, byte[] body) {
        res.status(Status.create(status));
        res.header(HeaderValues.CONTENT_TYPE_JSON);
        res.send(body);
    }

    static void json(ServerResponse res, byte[] body) {
        res.header(HeaderValues.CONTENT_TYPE_JSON);
        res.send(body);
    }

    static void error(ServerResponse res, ApiError e) {
        json(res, e.status(), e.body());
    }

    static void empty(ServerResponse res, int status) {
        res.status(Status.create(status));
        res.send();
    }

    static void notFound(ServerResponse res) {
        json(res, 404, NOT_FOUND);
    }

    static void methodNotAllowed(ServerResponse res) {
        json(res, 405, NOT_ALLOWED);
    }
}
