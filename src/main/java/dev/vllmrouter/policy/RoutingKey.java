package dev.vllmrouter.policy;

/**
 * The parts of a request a policy may use. Built once per request by the caller, with only what is cheap to know.
 *
 * @param route the request path (e.g. {@code /v1/chat/completions})
 * @param model the requested model, or {@code null}
 */
public record RoutingKey(String route, String model) {
}
