package dev.vllmrouter.sim;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One HTTP request as the simulated worker received it, for assertions in tests.
 *
 * @param method    HTTP method, e.g. {@code POST}
 * @param path      raw (undecoded) path, e.g. {@code /v1/chat/completions}
 * @param rawQuery  raw query string without {@code ?}; empty when there is none
 * @param headers   header names in lower case, values as received and in order
 * @param body      the body bytes exactly as received; empty for no body and for bodies rejected with 413
 * @param requestId the {@code X-Request-Id} header value, or null when absent
 *
 * <p>Note: being a record with a {@code byte[]} component, equality compares the body by identity.
 */
public record RecordedRequest(String method, String path, String rawQuery, Map<String, List<String>> headers,
                              byte[] body, String requestId) {

    /** The body decoded as UTF-8. */
    public String bodyText() {
        return new String(body, StandardCharsets.UTF_8);
    }

    /** First value of a header (name matched case-insensitively). */
    public Optional<String> header(String name) {
        List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
        return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
    }

    @Override
    public String toString() {
        return "RecordedRequest[" + method + " " + path + (rawQuery.isEmpty() ? "" : "?" + rawQuery)
                + ", requestId=" + requestId + ", " + body.length + " body bytes]";
    }
}
