package dev.vllmrouter.proxy;

import java.util.List;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;

import dev.vllmrouter.common.RandomSource;

/**
 * Request ids as vllm-router makes them (reference §3.6): the first configured header present on the request gives
 * the id; otherwise one is generated as a path-specific prefix ({@code chatcmpl-}, {@code cmpl-}, {@code gnt-},
 * {@code req-}) plus 24 random alphanumerics. The router sends it to the worker as {@code X-Request-Id} (so vLLM's
 * logs and response ids carry it; see {@link RequestId#forWorker()}) and returns it as {@code x-request-id}.
 */
public final class RequestIds {
    private static final char[] ALPHANUMERIC =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
    private static final int MAX_LENGTH = 256;

    private final List<HeaderName> headers;
    private final RandomSource random;

    public RequestIds(List<String> headerNames, RandomSource random) {
        this.headers = headerNames.stream().map(HeaderNames::create).toList();
        this.random = random;
    }

    /** The id for a request to {@code path} with {@code requestHeaders}. */
    public RequestId resolve(Headers requestHeaders, String path) {
        for (HeaderName name : headers) {
            if (requestHeaders.contains(name)) {
                String value = requestHeaders.get(name).get().trim();
                if (!value.isEmpty() && value.length() <= MAX_LENGTH && isVisibleAscii(value)) {
                    return RequestId.of(value);
                }
            }
        }
        return generate(path);
    }

    RequestId generate(String path) {
        String prefix = switch (path) {
            case "/v1/chat/completions" -> "chatcmpl-";
            case "/v1/completions" -> "cmpl-";
            case "/generate", "/inference/v1/generate" -> "gnt-";
            default -> "req-";
        };
        char[] id = new char[prefix.length() + 24];
        prefix.getChars(0, prefix.length(), id, 0);
        for (int i = prefix.length(); i < id.length; i++) {
            id[i] = ALPHANUMERIC[random.nextInt(ALPHANUMERIC.length)];
        }
        return new RequestId(new String(id), prefix.length());
    }

    private static boolean isVisibleAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }
}
