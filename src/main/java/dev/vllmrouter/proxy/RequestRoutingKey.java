package dev.vllmrouter.proxy;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;

import dev.vllmrouter.openai.RoutingFields;
import dev.vllmrouter.policy.PromptIds;
import dev.vllmrouter.policy.RoutingKey;

/**
 * The {@link RoutingKey} of one client request: route and model are known up front; the body's routing fields are
 * parsed the first time a policy asks and remembered (one request is picked on one thread, retries included).
 */
public final class RequestRoutingKey implements RoutingKey {
    private final ProxyRequest request;
    private final PromptIdSource promptIdSource;
    private RoutingFields fields;
    private PromptIds promptIds;
    private boolean promptIdsDone;

    public RequestRoutingKey(ProxyRequest request) {
        this(request, null);
    }

    /** @param promptIdSource computes the prompt's token ids for {@link #promptIds()}, or {@code null}: none */
    public RequestRoutingKey(ProxyRequest request, PromptIdSource promptIdSource) {
        this.request = request;
        this.promptIdSource = promptIdSource;
    }

    @Override
    public String route() {
        return request.rawPath();
    }

    @Override
    public String model() {
        return request.facts().model();
    }

    @Override
    public String header(String lowerCaseName) {
        HeaderName name = HeaderNames.create(lowerCaseName);
        Headers h = request.headers();
        return h.contains(name) ? h.get(name).get() : null;
    }

    @Override
    public String bodySessionKey() {
        return fields().sessionKey();
    }

    @Override
    public String conversationKey() {
        return fields().conversationKey();
    }

    @Override
    public String promptText() {
        return fields().promptText();
    }

    @Override
    public PromptIds promptIds() {
        if (!promptIdsDone) {
            promptIdsDone = true;
            promptIds = promptIdSource == null || request.body() == null ? null : promptIdSource.of(request);
        }
        return promptIds;
    }

    /** Whether the prompt's token ids were asked for and computed (the request was tokenized for routing). */
    public boolean tokenized() {
        return promptIdsDone && promptIds != null;
    }

    private RoutingFields fields() {
        if (fields == null) {
            fields = request.body() == null ? RoutingFields.EMPTY : RoutingFields.parse(request.body());
        }
        return fields;
    }
}
