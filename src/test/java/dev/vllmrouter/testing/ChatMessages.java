package dev.vllmrouter.testing;

/** Multi-turn chat bodies for routing tests: every turn of a conversation extends the previous turn's prompt. */
public final class ChatMessages {
    private ChatMessages() {
    }

    /**
     * The {@code messages} array (JSON) of turn {@code turns} of conversation {@code conversation}: a system prompt of
     * its own (no prefix shared between conversations: with no load anywhere, a shared prefix would rightly draw every
     * new conversation to the worker that holds it), {@code turns} question/answer pairs, and a last question.
     */
    public static String conversation(int conversation, int turns) {
        StringBuilder sb = new StringBuilder("[{\"role\":\"system\",\"content\":\"" + conversation
                + ": you are a helpful assistant. " + "Answer briefly and precisely, and cite what you rely on. "
                .repeat(12) + "\"}");
        for (int t = 0; t < turns; t++) {
            sb.append(",{\"role\":\"user\",\"content\":\"Question ").append(t).append(" of conversation ")
                    .append(conversation).append(": ").append("tell me more about prefix caches. ".repeat(10 + t))
                    .append("\"}");
            sb.append(",{\"role\":\"assistant\",\"content\":\"").append(" token0 token1 token2".repeat(3))
                    .append("\"}");
        }
        return sb.append(",{\"role\":\"user\",\"content\":\"And finally, conversation ").append(conversation)
                .append("?\"}]").toString();
    }
}
