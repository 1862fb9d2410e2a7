package dev.vllmrouter.bench;

import java.util.SplittableRandom;

import dev.vllmrouter.common.Hashing;
import dev.vllmrouter.sim.PromptText;

/**
 * Deterministic multi-turn chat texts for the benchmarks: one system prompt shared by every conversation (or a few:
 * shared documents, each conversation starting with one of them), and per
 * (conversation, turn) a user message and an assistant answer of pseudo-random words (a fixed vocabulary; each text
 * seeded from {@code (seed, conversation, turn, role)}, so it is the same whatever order it is asked in and
 * distinct between conversations and turns after its first word or two).
 * <p>Rendering is the simulator's chat template ({@link PromptText#appendMessage} per message, then
 * {@link PromptText#GENERATION_PROMPT}), the text both the router's {@code promptText} and the simulated prefix cache
 * see: the rendered prompt of turn {@code k} is a prefix of turn {@code k + 1}'s, because turn {@code k + 1} adds the
 * answer (which starts with the generation prompt's {@code <|assistant|>\n}) and a new user message.
 */
public final class ChatText {
    private static final String[] WORDS = {
        "the", "model", "router", "cache", "token", "prefix", "worker", "request", "answer", "question", "latency",
        "batch", "decode", "prefill", "memory", "block", "kernel", "tensor", "layer", "attention", "weights", "queue",
        "stream", "python", "java", "deploy", "cluster", "node", "replica", "shard", "throughput", "please", "explain",
        "why", "how", "when", "which", "could", "would", "should", "about", "with", "without", "between", "into",
        "over", "under", "after", "before", "because", "example", "summary", "detail", "table", "list", "code",
        "error", "config", "option", "default", "value", "result", "number", "string"};
    private static final int USER = 1;
    private static final int ANSWER = 2;

    private final long seed;
    private final int userChars;
    private final int answerChars;
    private final String[] systemMessages;

    /**
     * @param systemChars length of the system prompt's content
     * @param userChars   length of each user message's content
     * @param answerChars length of each assistant answer's content
     */
    public ChatText(long seed, int systemChars, int userChars, int answerChars) {
        this(seed, systemChars, userChars, answerChars, 1);
    }

    /**
     * As {@link #ChatText(long, int, int, int)} with {@code documents} different system prompts (shared documents:
     * conversation {@code c} starts with document {@code c % documents}); document 0 is the single system prompt.
     */
    public ChatText(long seed, int systemChars, int userChars, int answerChars, int documents) {
        this.seed = seed;
        this.userChars = userChars;
        this.answerChars = answerChars;
        this.systemMessages = new String[documents];
        for (int d = 0; d < documents; d++) {
            String system = words(new SplittableRandom(seed + d), systemChars);
            systemMessages[d] = PromptText.appendMessage(new StringBuilder(), "system", system).toString();
        }
    }

    /** The rendered system message ({@code <|system|>\n...\n}) of document 0, the start of every prompt. */
    public String systemMessage() {
        return systemMessages[0];
    }

    private String systemMessage(int conversation) {
        return systemMessages[Math.floorMod(conversation, systemMessages.length)];
    }

    public String user(int conversation, int turn) {
        return words(random(conversation, turn, USER), userChars);
    }

    public String answer(int conversation, int turn) {
        return words(random(conversation, turn, ANSWER), answerChars);
    }

    /** The chat's leading messages rendered: system + first user message (the router's conversation key). */
    public String conversationKey(int conversation) {
        return PromptText.appendMessage(new StringBuilder(systemMessage(conversation)), "user", user(conversation, 0))
                .toString();
    }

    /** A new conversation's history: the rendered system message (document 0). */
    public StringBuilder newHistory() {
        return new StringBuilder(systemMessage());
    }

    /** Conversation {@code conversation}'s new history: its document's rendered system message. */
    public StringBuilder newHistory(int conversation) {
        return new StringBuilder(systemMessage(conversation));
    }

    /** The rendered prompt of turn {@code turn} (0-based) given the history of the turns before it. */
    public String prompt(CharSequence history, int conversation, int turn) {
        StringBuilder sb = new StringBuilder(history.length() + userChars + 32).append(history);
        PromptText.appendMessage(sb, "user", user(conversation, turn));
        return sb.append(PromptText.GENERATION_PROMPT).toString();
    }

    /** Appends turn {@code turn}'s user message and answer to {@code history} (after the turn completed). */
    public void appendTurn(StringBuilder history, int conversation, int turn) {
        PromptText.appendMessage(history, "user", user(conversation, turn));
        PromptText.appendMessage(history, "assistant", answer(conversation, turn));
    }

    /**
     * A rendered prompt of exactly {@code size} characters (at least the system message plus a short user message):
     * whole turns while they fit, then a last user message cut to fill the rest.
     */
    public String promptOfSize(int conversation, int size) {
        StringBuilder history = newHistory();
        int turn = 0;
        int turnChars = 2 * 16 + userChars + answerChars;
        int tail = "<|user|>\n".length() + 1 + PromptText.GENERATION_PROMPT.length();
        while (history.length() + turnChars + tail + 64 <= size) {
            appendTurn(history, conversation, turn++);
        }
        int last = Math.max(16, size - history.length() - tail);
        String user = words(random(conversation, turn, USER), last);
        PromptText.appendMessage(history, "user", user);
        return history.append(PromptText.GENERATION_PROMPT).toString();
    }

    private SplittableRandom random(int conversation, int turn, int role) {
        long h = Hashing.fmix64(seed ^ 0x9E3779B97F4A7C15L * (conversation + 1));
        h = Hashing.fmix64(h ^ 0xC2B2AE3D27D4EB4FL * (turn + 1));
        return new SplittableRandom(h ^ role);
    }

    /** Words separated by spaces, cut to exactly {@code chars} characters. */
    static String words(SplittableRandom random, int chars) {
        StringBuilder sb = new StringBuilder(chars + 16);
        while (sb.length() < chars) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(WORDS[random.nextInt(WORDS.length)]);
        }
        sb.setLength(chars);
        return sb.toString();
    }
}
