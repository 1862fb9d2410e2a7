package dev.vllmrouter.openai;

import java.io.IOException;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;

/**
 * What the router reads from an OpenAI JSON body: the {@code model} and whether the client asked for a
 * {@code stream}. One streaming pass over the bytes validates the whole document (so malformed JSON and invalid
 * UTF-8 are refused with a 400 before any worker sees them) without building a tree; everything else is skipped.
 * The bytes themselves are forwarded unchanged.
 *
 * @param model  the top-level {@code model} string, or {@code null} when absent or not a string
 * @param stream the top-level {@code stream} flag ({@code false} when absent)
 */
public record RequestFacts(String model, boolean stream) {

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(512).build())
            .build();

    /** Facts of a request without a JSON body. */
    public static final RequestFacts NONE = new RequestFacts(null, false);

    /**
     * Parses {@code body} as one JSON object.
     *
     * @throws RouterException (400) when the body is empty, not valid JSON, not an object, or has trailing data
     */
    public static RequestFacts parse(byte[] body) {
        if (body.length == 0) {
            throw new RouterException(ErrorKind.BAD_REQUEST, "Request body is empty; expected a JSON object");
        }
        String model = null;
        boolean stream = false;
        try (JsonParser p = FACTORY.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new RouterException(ErrorKind.BAD_REQUEST, "Request body must be a JSON object");
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if ("model".equals(name) && value == JsonToken.VALUE_STRING) {
                    model = p.getText();
                } else if ("stream".equals(name) && (value == JsonToken.VALUE_TRUE || value == JsonToken.VALUE_FALSE)) {
                    stream = value == JsonToken.VALUE_TRUE;
                } else {
                    p.skipChildren();
                }
            }
            if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new RouterException(ErrorKind.BAD_REQUEST, "Invalid JSON body: unexpected data after the object");
            }
        } catch (IOException e) {
            throw new RouterException(ErrorKind.BAD_REQUEST, "Invalid JSON body: " + firstLine(e.getMessage()));
        }
        return new RequestFacts(model, stream);
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "malformed";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
