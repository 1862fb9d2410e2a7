package dev.vllmrouter.tokenize;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;

/**
 * What {@link SpecialTokenCuts} needs to know of a Hugging Face {@code tokenizer.json}: its added tokens with their
 * flags, and the normalizer, pre-tokenizer, post-processor and model type (the vocabulary and merges are skipped
 * while reading, so a 10 MB file costs little). Immutable.
 *
 * @param addedTokens   {@code added_tokens}, in file order
 * @param normalizer    {@code normalizer} ({@code null} node when absent)
 * @param preTokenizer  {@code pre_tokenizer} ({@code null} node when absent)
 * @param postProcessor {@code post_processor} ({@code null} node when absent)
 * @param modelType     {@code model.type} ({@code ""} when absent)
 * @param modelDropout  {@code model.dropout} ({@code null} node when absent)
 */
record TokenizerSpec(List<AddedToken> addedTokens, JsonNode normalizer, JsonNode preTokenizer,
                     JsonNode postProcessor, String modelType, JsonNode modelDropout) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One entry of {@code added_tokens}. */
    record AddedToken(int id, String content, boolean special, boolean normalized, boolean lstrip, boolean rstrip,
                      boolean singleWord) {
    }

    TokenizerSpec {
        addedTokens = List.copyOf(addedTokens);
    }

    static TokenizerSpec read(Path tokenizerJson) throws IOException {
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            return read(in);
        }
    }

    static TokenizerSpec read(InputStream in) throws IOException {
        List<AddedToken> added = new ArrayList<>();
        JsonNode normalizer = NullNode.instance;
        JsonNode preTokenizer = NullNode.instance;
        JsonNode postProcessor = NullNode.instance;
        String modelType = "";
        JsonNode dropout = NullNode.instance;
        try (JsonParser p = JSON.getFactory().createParser(in)) {
            p.setCodec(JSON);
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IOException("tokenizer.json is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                switch (field) {
                    case "added_tokens" -> {
                        JsonNode list = p.readValueAsTree();
                        for (JsonNode t : list) {
                            added.add(new AddedToken(t.path("id").asInt(), t.path("content").asText(),
                                    t.path("special").asBoolean(false), t.path("normalized").asBoolean(true),
                                    t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false),
                                    t.path("single_word").asBoolean(false)));
                        }
                    }
                    case "normalizer" -> normalizer = tree(p);
                    case "pre_tokenizer" -> preTokenizer = tree(p);
                    case "post_processor" -> postProcessor = tree(p);
                    case "model" -> {
                        if (p.currentToken() != JsonToken.START_OBJECT) {
                            p.skipChildren();
                            continue;
                        }
                        while (p.nextToken() == JsonToken.FIELD_NAME) {
                            String name = p.currentName();
                            p.nextToken();
                            if (name.equals("type")) {
                                modelType = p.getValueAsString("");
                            } else if (name.equals("dropout")) {
                                dropout = tree(p);
                            } else {
                                p.skipChildren(); // vocab, merges: the bulk of the file
                            }
                        }
                    }
                    default -> p.skipChildren();
                }
            }
        }
        return new TokenizerSpec(added, normalizer, preTokenizer, postProcessor, modelType, dropout);
    }

    private static JsonNode tree(JsonParser p) throws IOException {
        JsonNode node = p.readValueAsTree();
        return node == null ? NullNode.instance : node;
    }
}
