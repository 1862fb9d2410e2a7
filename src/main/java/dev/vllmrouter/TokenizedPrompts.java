package dev.vllmrouter;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.vllmrouter.policy.PromptIds;
import dev.vllmrouter.proxy.PromptIdSource;
import dev.vllmrouter.proxy.ProxyRequest;
import dev.vllmrouter.tokenize.PromptTokenizer;
import dev.vllmrouter.tokenize.PromptTokenizers;
import dev.vllmrouter.worker.ModelAdapters;

/**
 * Router-side tokenization for exact prefix-cache routing: the prompt token ids of a {@code /v1/chat/completions} or
 * {@code /v1/completions} request whose model has a tokenizer ({@code --tokenizer-path}), computed as vLLM computes
 * them ({@link PromptTokenizer}), with the request's {@code cache_salt}. {@code null} (the request is then routed by
 * the approximate tree) for other routes, models without a tokenizer, a batch of several prompts, and anything the
 * tokenizer refuses (images, a request's own chat template, a body it cannot read). A request for a LoRA adapter (a
 * model some worker lists with a {@code parent}) is tokenized with its base model's tokenizer unless it has its own, and
 * its ids carry the adapter's name, under which the engine keys its blocks.
 *
 * <p>Without a tokenizer the router does not ask a worker's {@code POST /tokenize}: that is a network round trip and
 * work on the engine's API server for every request, on the request's critical path (see docs/policies.md).
 * Thread-safe (the tokenizers are).
 */
final class TokenizedPrompts implements PromptIdSource {
    private static final System.Logger LOG = System.getLogger(TokenizedPrompts.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PromptTokenizers tokenizers;
    private final ModelAdapters adapters;

    TokenizedPrompts(PromptTokenizers tokenizers) {
        this(tokenizers, new ModelAdapters());
    }

    /** @param adapters the LoRA adapters the workers list: their requests use the base model's tokenizer */
    TokenizedPrompts(PromptTokenizers tokenizers, ModelAdapters adapters) {
        this.tokenizers = tokenizers;
        this.adapters = adapters;
    }

    /** The tokenizer of {@code model}, or of its base model when it is a LoRA adapter without one of its own. */
    private Optional<PromptTokenizer> tokenizerOf(String model, String parent) {
        Optional<PromptTokenizer> own = tokenizers.forModel(model);
        return own.isPresent() || parent == null ? own : tokenizers.forModel(parent);
    }

    @Override
    public PromptIds of(ProxyRequest request) {
        String path = request.rawPath();
        boolean chat = path.endsWith("/v1/chat/completions");
        if (!chat && !path.endsWith("/v1/completions")) {
            return null;
        }
        String model = request.facts().model();
        String parent = adapters.parentOf(model);
        Optional<PromptTokenizer> tokenizer = tokenizerOf(model, parent);
        if (tokenizer.isEmpty()) {
            return null;
        }
        try {
            JsonNode body = JSON.readTree(request.body());
            int[] ids;
            if (chat) {
                ids = tokenizer.get().chat(body);
            } else {
                List<int[]> prompts = tokenizer.get().completions(body);
                if (prompts.size() != 1) {
                    return null;
                }
                ids = prompts.getFirst();
            }
            JsonNode salt = body.get("cache_salt");
            return new PromptIds(ids, salt != null && salt.isTextual() ? salt.textValue() : null,
                    parent == null ? null : model);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "request {0}: no token ids for routing: {1}", request.requestId(),
                    e.toString());
            return null;
        }
    }

    @Override
    public boolean wantsAnswer(ProxyRequest request) {
        String model = request.facts().model();
        return tokenizerOf(model, adapters.parentOf(model)).map(PromptTokenizer::warmsAnswers).orElse(false);
    }

    /** Encodes the answer as the next turn's history will carry it ({@link PromptTokenizer#warmAnswer}). */
    @Override
    public void answered(ProxyRequest request, String content) {
        try {
            String model = request.facts().model();
            tokenizerOf(model, adapters.parentOf(model)).ifPresent(t -> t.warmAnswer(content));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "request {0}: the answer was not encoded ahead: {1}",
                    request.requestId(), e.toString());
        }
    }
}
