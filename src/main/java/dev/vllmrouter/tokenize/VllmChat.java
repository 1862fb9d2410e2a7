package dev.vllmrouter.tokenize;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The variables vLLM hands to a chat template for {@code /v1/chat/completions}, built from the request body as
 * vLLM builds them (vllm/entrypoints/chat_utils.py {@code parse_chat_messages}, the chat serving's tool list and
 * {@code transformers}' {@code apply_chat_template}):
 * <ul>
 *   <li>{@code messages}: each message becomes a new dict with {@code role} and {@code content}; content
 *       {@code null} is {@code ""}; a list of text parts ({@code text}, {@code input_text}, {@code output_text},
 *       {@code refusal}, plain strings) is joined with {@code "\n"} when the template takes string content, or kept
 *       as {@code [{"type":"text","text":...}]} when it loops over the content ({@link ContentFormat}); assistants
 *       keep {@code tool_calls} (an empty list dropped; each {@code function.arguments} JSON string parsed to an
 *       object, {@code {}} when it is not JSON) and {@code reasoning} (also as {@code reasoning_content}); tools keep
 *       {@code tool_call_id}; {@code name} is kept when it is a string; every other field is dropped;</li>
 *   <li>{@code tools}: each tool as pydantic's {@code model_dump()} of vLLM's {@code ChatCompletionToolsParam}:
 *       {@code {"type", "function": {"name", "description", "parameters", extra fields...}, extra fields...}} with
 *       {@code null} for an absent description or parameters; no tools (or an empty list): none;</li>
 *   <li>{@code documents}, {@code add_generation_prompt} (default true), the special tokens of the tokenizer
 *       ({@code bos_token}, {@code eos_token} ...), then {@code chat_template_kwargs} (e.g. {@code enable_thinking}),
 *       which win over the special tokens as in {@code transformers}.</li>
 * </ul>
 * Images, audio and video cannot be tokenized here (their placeholders depend on the model's processor), nor a
 * request that brings its own {@code chat_template}: both raise {@link TokenizeException}. Pure.
 */
final class VllmChat {
    private static final ObjectMapper JSON = new ObjectMapper();

    private VllmChat() {
    }

    /** How a template wants message content: vLLM's "string" or "openai" (a list of typed parts). */
    enum ContentFormat {
        STRING, OPENAI;

        // vLLM detects "openai" when the template loops over a message's content; this is the same test on the text
        private static final Pattern CONTENT_LOOP = Pattern.compile(
                "\\{%-?\\s*for\\s+\\w+\\s+in\\s+\\w+(?:\\.content|\\[\\s*['\"]content['\"]\\s*])");

        static ContentFormat detect(String template) {
            return CONTENT_LOOP.matcher(template).find() ? OPENAI : STRING;
        }
    }

    static Map<String, Object> variables(JsonNode request, Map<String, Object> specialTokens, ContentFormat format) {
        if (!(request instanceof ObjectNode body)) {
            throw new TokenizeException("the request body is not a JSON object");
        }
        if (body.hasNonNull("chat_template")) {
            throw new TokenizeException("the request brings its own chat_template");
        }
        JsonNode messages = body.get("messages");
        if (!(messages instanceof ArrayNode list)) {
            throw new TokenizeException("'messages' is not a list");
        }
        List<Object> conversation = new ArrayList<>(list.size());
        for (JsonNode message : list) {
            conversation.add(message(message, format));
        }
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put("messages", conversation);
        vars.put("tools", tools(body.get("tools")));
        JsonNode documents = body.get("documents");
        vars.put("documents", documents == null || documents.isNull() ? null : toJava(documents));
        JsonNode generation = body.get("add_generation_prompt");
        vars.put("add_generation_prompt", generation == null || generation.isNull() || generation.asBoolean());
        vars.putAll(specialTokens);
        JsonNode kwargs = body.get("chat_template_kwargs");
        if (kwargs instanceof ObjectNode object) {
            object.properties().forEach(e -> vars.put(e.getKey(), toJava(e.getValue())));
        }
        return vars;
    }

    private static Map<String, Object> message(JsonNode message, ContentFormat format) {
        if (!(message instanceof ObjectNode m) || !m.path("role").isTextual()) {
            throw new TokenizeException("a message without a role");
        }
        String role = m.get("role").asText();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("role", role);
        out.put("content", content(m.get("content"), format, role));
        if (role.equals("assistant")) {
            JsonNode calls = m.get("tool_calls");
            if (calls != null && !calls.isNull()) {
                Object parsed = toJava(calls);
                if (parsed instanceof List<?> items) {
                    if (!items.isEmpty()) {
                        items.forEach(VllmChat::parseArguments);
                        out.put("tool_calls", items);
                    }
                } else {
                    out.put("tool_calls", parsed);
                }
            }
            JsonNode reasoning = m.get("reasoning");
            if (reasoning != null && !reasoning.isNull()) {
                out.put("reasoning", toJava(reasoning));
                out.put("reasoning_content", toJava(reasoning));
            }
        } else if (role.equals("tool") && m.has("tool_call_id")) {
            out.put("tool_call_id", toJava(m.get("tool_call_id")));
        }
        if (m.path("name").isTextual()) {
            out.put("name", m.get("name").asText());
        }
        if (m.path("task").isTextual()) {
            out.put("task", m.get("task").asText());
        }
        if (role.equals("developer")) {
            out.put("tools", m.has("tools") ? toJava(m.get("tools")) : null);
        }
        return out;
    }

    private static Object content(JsonNode content, ContentFormat format, String role) {
        List<String> texts = new ArrayList<>();
        if (content == null || content.isNull()) {
            // no parts
        } else if (content.isTextual()) {
            texts.add(content.asText());
        } else if (content instanceof ArrayNode parts) {
            for (JsonNode part : parts) {
                String text = textOf(part);
                if (text != null) {
                    texts.add(text);
                }
            }
        } else {
            throw new TokenizeException("message content is neither text nor a list of parts");
        }
        if (format == ContentFormat.STRING || role.equals("tool")) {
            // a tool message's list of text parts is joined even for templates that take "openai" content
            return String.join("\n", texts);
        }
        List<Object> parts = new ArrayList<>(texts.size());
        for (String text : texts) {
            Map<String, Object> part = new LinkedHashMap<>();
            part.put("type", "text");
            part.put("text", text);
            parts.add(part);
        }
        return parts;
    }

    private static String textOf(JsonNode part) {
        if (part.isTextual()) {
            return part.asText();
        }
        String type = part.path("type").asText("");
        return switch (type) {
            case "text", "input_text", "output_text" -> part.path("text").isTextual() ? part.get("text").asText()
                    : null;
            case "refusal" -> part.path("refusal").isTextual() ? part.get("refusal").asText() : null;
            case "thinking" -> part.path("thinking").isTextual() ? part.get("thinking").asText() : null;
            default -> throw new TokenizeException("content part '" + type + "' cannot be tokenized by the router");
        };
    }

    @SuppressWarnings("unchecked")
    private static void parseArguments(Object call) {
        if (!(call instanceof Map<?, ?> item) || !(item.get("function") instanceof Map<?, ?> fn)) {
            return;
        }
        Map<String, Object> function = (Map<String, Object>) fn;
        Object arguments = function.get("arguments");
        if (arguments instanceof String s) {
            try {
                JsonNode parsed = JSON.readTree(s);
                function.put("arguments", parsed == null || parsed.isMissingNode() ? Map.of() : toJava(parsed));
            } catch (JsonProcessingException e) {
                function.put("arguments", new LinkedHashMap<>());
            }
        } else if (!(arguments instanceof Map<?, ?>) && !(arguments instanceof List<?>)) {
            function.put("arguments", new LinkedHashMap<>());
        }
    }

    private static Object tools(JsonNode tools) {
        if (tools == null || tools.isNull()) {
            return null;
        }
        if (!(tools instanceof ArrayNode list)) {
            throw new TokenizeException("'tools' is not a list");
        }
        if (list.isEmpty()) {
            return null;
        }
        List<Object> out = new ArrayList<>();
        for (JsonNode tool : list) {
            JsonNode function = tool.get("function");
            if (!(function instanceof ObjectNode fn) || !fn.path("name").isTextual()
                    || !"function".equals(tool.path("type").asText("function"))) {
                throw new TokenizeException("a tool that is not a function with a name");
            }
            Map<String, Object> dumpedFunction = new LinkedHashMap<>();
            dumpedFunction.put("name", fn.get("name").asText());
            dumpedFunction.put("description", toJava(fn.get("description")));
            dumpedFunction.put("parameters", toJava(fn.get("parameters")));
            fn.properties().forEach(e -> dumpedFunction.putIfAbsent(e.getKey(), toJava(e.getValue())));
            Map<String, Object> dumped = new LinkedHashMap<>();
            dumped.put("type", "function");
            dumped.put("function", dumpedFunction);
            tool.properties().forEach(e -> dumped.putIfAbsent(e.getKey(), toJava(e.getValue())));
            out.add(dumped);
        }
        return out;
    }

    /** JSON as the plain Java values a template sees: ordered maps, lists, strings, longs, doubles, booleans. */
    static Object toJava(JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isBoolean()) {
            return node.asBoolean();
        }
        if (node.isIntegralNumber()) {
            return node.canConvertToLong() ? (Object) node.asLong() : node.bigIntegerValue();
        }
        if (node.isNumber()) {
            return node.asDouble();
        }
        if (node.isArray()) {
            List<Object> list = new ArrayList<>(node.size());
            node.forEach(item -> list.add(toJava(item)));
            return list;
        }
        Map<String, Object> map = new LinkedHashMap<>();
        node.properties().forEach(e -> map.put(e.getKey(), toJava(e.getValue())));
        return map;
    }
}
