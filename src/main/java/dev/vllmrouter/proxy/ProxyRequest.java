package dev.vllmrouter.proxy;

import io.helidon.http.Headers;
import io.helidon.http.Method;

import dev.vllmrouter.openai.RequestFacts;

/**
 * One client request as the proxy forwards it.
 *
 * @param method    HTTP method
 * @param rawPath   the path as received (percent-encoding kept)
 * @param rawQuery  the query as received, without {@code ?}; empty when none
 * @param headers   the client's headers
 * @param body      the body bytes (forwarded unchanged), or {@code null} when the request has none
 * @param facts     what was parsed from a JSON body ({@link RequestFacts#NONE} otherwise)
 * @param requestId the request id (taken from the client or generated)
 * @param route     the metrics label of the route
 * @param asJson    send the body as {@code application/json} whatever the client labelled it (a validated JSON body
 *                  that came without a type or as curl's default form type)
 */
public record ProxyRequest(Method method, String rawPath, String rawQuery, Headers headers, byte[] body,
                           RequestFacts facts, RequestId requestId, String route, boolean asJson) {
}
