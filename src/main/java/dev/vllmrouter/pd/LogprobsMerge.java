package dev.vllmrouter.pd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Puts the prompt's log-probabilities, which only the prefill worker computed (the decode worker received the
 * prompt's KV cache, not the prompt pass), into the decode worker's answer of a non-streamed request:
 * <ul>
 *   <li>chat: the top-level {@code prompt_logprobs};</li>
 *   <li>completions: each choice's {@code prompt_logprobs}, and with {@code echo} the echoed prompt entries of
 *       {@code logprobs.token_logprobs} and {@code logprobs.top_logprobs} that the decode answer left {@code null}.</li>
 * </ul>
 * Only missing values are filled: what the decode worker did compute is never overwritten. Pure; edits
 * {@code decode} in place.
 */
public final class LogprobsMerge {
    private LogprobsMerge() {
    }

    /** Whether a request needs the merge: non-streamed with {@code logprobs}, {@code prompt_logprobs} or echo. */
    public static boolean wanted(JsonNode body) {
        if (body.path("stream").asBoolean(false)) {
            return false;
        }
        JsonNode logprobs = body.get("logprobs");
        boolean lp = logprobs != null && !logprobs.isNull() && !(logprobs.isBoolean() && !logprobs.asBoolean());
        JsonNode prompt = body.get("prompt_logprobs");
        return lp || (prompt != null && !prompt.isNull()) || body.path("echo").asBoolean(false);
    }

    public static void merge(ObjectNode decode, JsonNode prefill) {
        fillIfMissing(decode, "prompt_logprobs", prefill.get("prompt_logprobs"));
        JsonNode dChoices = decode.get("choices");
        JsonNode pChoices = prefill.get("choices");
        if (!(dChoices instanceof ArrayNode dc) || !(pChoices instanceof ArrayNode pc)) {
            return;
        }
        for (int i = 0; i < dc.size() && i < pc.size(); i++) {
            if (!(dc.get(i) instanceof ObjectNode d)) {
                continue;
            }
            JsonNode p = pc.get(i);
            fillIfMissing(d, "prompt_logprobs", p.get("prompt_logprobs"));
            JsonNode dl = d.get("logprobs");
            JsonNode pl = p.get("logprobs");
            if (dl instanceof ObjectNode dLog && pl instanceof ObjectNode pLog) {
                fillNulls(dLog, pLog, "token_logprobs");
                fillNulls(dLog, pLog, "top_logprobs");
            }
        }
    }

    private static void fillIfMissing(ObjectNode target, String field, JsonNode value) {
        JsonNode current = target.get(field);
        if ((current == null || current.isNull()) && value != null && !value.isNull()) {
            target.set(field, value.deepCopy());
        }
    }

    /** Fills null entries of {@code d[field]} from the same positions of {@code p[field]} (the prompt part). */
    private static void fillNulls(ObjectNode d, ObjectNode p, String field) {
        if (!(d.get(field) instanceof ArrayNode da) || !(p.get(field) instanceof ArrayNode pa)) {
            return;
        }
        // the prefill's last entry is the one token it generated, not part of the prompt
        int promptEntries = Math.max(0, pa.size() - 1);
        for (int k = 0; k < da.size() && k < promptEntries; k++) {
            if (da.get(k).isNull() && !pa.get(k).isNull()) {
                da.set(k, pa.get(k).deepCopy());
            }
        }
    }
}
