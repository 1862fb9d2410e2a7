package dev.vllmrouter.sim;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Start-up configuration of one {@link SimWorker}: where it listens, which model names it serves and the
 * defaults of its latency and scheduler model. Immutable; the runtime knobs (faults, latency overrides) live
 * in {@link SimFaults} so that tests can flip them while the worker serves.
 *
 * <p>Parameters and defaults (see {@link #builder()}):
 * <ul>
 *   <li>{@code host} 127.0.0.1, {@code port} 0 (ephemeral; {@link SimWorker#port()} tells the real one)</li>
 *   <li>{@code models} ["demo"]; the first one answers requests that omit {@code model}</li>
 *   <li>{@code workerId} null = "sim-&lt;port&gt;", resolved once the port is known</li>
 *   <li>{@code ttft} 0 (time to first token), {@code interTokenLatency} 0</li>
 *   <li>{@code defaultMaxTokens} 16: output length when a request gives no {@code max_tokens}</li>
 *   <li>{@code maxNumSeqs} 0 = unlimited; otherwise at most that many inference requests run at once and
 *       the rest wait in FIFO order, like vLLM's {@code --max-num-seqs}</li>
 *   <li>{@code maxPayloadBytes} 10 MiB; larger request bodies get 413</li>
 *   <li>{@code cacheBlocks} 8192: capacity of the {@link PrefixCacheModel} in blocks</li>
 *   <li>{@code blockSize} 16: tokens per KV block (vLLM's {@code --block-size})</li>
 *   <li>{@code enablePromptTokensDetails} true: {@code usage.prompt_tokens_details} carries
 *       {@code {"cached_tokens": N}} when N &gt; 0, as vLLM with {@code --enable-prompt-tokens-details}
 *       (the simulator turns it on by default; off, the field is always null)</li>
 *   <li>{@code prefillPerToken} 0: extra time to first token per prompt token not served from the prefix
 *       cache, so cache hits show up as lower TTFT</li>
 *   <li>{@code kvEventsPort} -1 = off; otherwise the worker publishes its prefix cache's changes as vLLM's KV-cache
 *       events on a ZeroMQ PUB socket at {@code tcp://host:kvEventsPort} (0 = ephemeral; {@link SimWorker#kvEvents()}
 *       tells the real one), see {@link SimKvEvents}</li>
 *   <li>{@code kvEventsReplayPort} -1 = no replay socket (0 = ephemeral); {@code kvEventsEncoding} MAP (vLLM 0.24+,
 *       or ARRAY as up to 0.23); {@code kvEventsTopic} ""</li>
 *   <li>{@code tokenizerPath} null = the simulator's own tokenization ({@link Tokens}); else a Hugging Face model
 *       directory whose chat template and tokenizer give the prompt token ids, as vLLM computes them (the router's
 *       {@code PromptTokenizer}): the prefix cache, {@code usage}, {@code /tokenize} and the KV events then use
 *       real token ids</li>
 *   <li>{@code apiKey} null: as vLLM's {@code --api-key}, every {@code /v1} request but {@code OPTIONS} then needs
 *       {@code Authorization: Bearer <key>}, else 401 {@code {"error":"Unauthorized"}}</li>
 * </ul>
 */
public record SimConfig(String host, int port, List<String> models, String workerId,
                        Duration ttft, Duration interTokenLatency, int defaultMaxTokens, int maxNumSeqs,
                        int maxPayloadBytes, int cacheBlocks, int blockSize,
                        boolean enablePromptTokensDetails, Duration prefillPerToken, String apiKey,
                        int kvEventsPort, int kvEventsReplayPort, SimKvEvents.Encoding kvEventsEncoding,
                        String kvEventsTopic, java.nio.file.Path tokenizerPath) {

    /** Default request body limit: 10 MiB. */
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

    public SimConfig {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        }
        models = List.copyOf(Objects.requireNonNull(models, "models"));
        if (models.isEmpty()) {
            throw new IllegalArgumentException("at least one model name is required");
        }
        for (String m : models) {
            if (m.isBlank()) {
                throw new IllegalArgumentException("model names must not be blank");
            }
        }
        ttft = requireNonNegative(ttft, "ttft");
        interTokenLatency = requireNonNegative(interTokenLatency, "interTokenLatency");
        if (defaultMaxTokens < 1) {
            throw new IllegalArgumentException("defaultMaxTokens must be >= 1, got " + defaultMaxTokens);
        }
        if (maxNumSeqs < 0) {
            throw new IllegalArgumentException("maxNumSeqs must be >= 0 (0 = unlimited), got " + maxNumSeqs);
        }
        if (maxPayloadBytes < 1) {
            throw new IllegalArgumentException("maxPayloadBytes must be >= 1, got " + maxPayloadBytes);
        }
        if (cacheBlocks < 1 || cacheBlocks > PrefixCacheModel.MAX_CAPACITY_BLOCKS) {
            throw new IllegalArgumentException("cacheBlocks must be in 1.." + PrefixCacheModel.MAX_CAPACITY_BLOCKS
                    + ", got " + cacheBlocks);
        }
        if (blockSize < 1 || blockSize > PrefixCacheModel.MAX_BLOCK_SIZE) {
            throw new IllegalArgumentException("blockSize must be in 1.." + PrefixCacheModel.MAX_BLOCK_SIZE
                    + ", got " + blockSize);
        }
        prefillPerToken = requireNonNegative(prefillPerToken, "prefillPerToken");
        if (kvEventsPort < -1 || kvEventsPort > 65535 || kvEventsReplayPort < -1 || kvEventsReplayPort > 65535) {
            throw new IllegalArgumentException("KV-event ports must be in -1..65535 (-1 = off, 0 = ephemeral), got "
                    + kvEventsPort + " and " + kvEventsReplayPort);
        }
        Objects.requireNonNull(kvEventsEncoding, "kvEventsEncoding");
        Objects.requireNonNull(kvEventsTopic, "kvEventsTopic");
    }

    /** Whether the worker publishes KV-cache events. */
    public boolean kvEvents() {
        return kvEventsPort >= 0;
    }

    /** A builder with every default set; see the class comment. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder pre-filled with this configuration. */
    public Builder toBuilder() {
        return new Builder().host(host).port(port).models(models).workerId(workerId).ttft(ttft)
                .interTokenLatency(interTokenLatency).defaultMaxTokens(defaultMaxTokens).maxNumSeqs(maxNumSeqs)
                .maxPayloadBytes(maxPayloadBytes).cacheBlocks(cacheBlocks).blockSize(blockSize)
                .enablePromptTokensDetails(enablePromptTokensDetails).prefillPerToken(prefillPerToken).apiKey(apiKey)
                .kvEventsPort(kvEventsPort).kvEventsReplayPort(kvEventsReplayPort).kvEventsEncoding(kvEventsEncoding)
                .kvEventsTopic(kvEventsTopic).tokenizerPath(tokenizerPath);
    }

    /** The model that serves requests without a {@code model} field. */
    public String defaultModel() {
        return models.get(0);
    }

    private static Duration requireNonNegative(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative, got " + d);
        }
        return d;
    }

    /** Mutable builder of {@link SimConfig}. */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = 0;
        private List<String> models = List.of("demo");
        private String workerId;
        private Duration ttft = Duration.ZERO;
        private Duration interTokenLatency = Duration.ZERO;
        private int defaultMaxTokens = 16;
        private int maxNumSeqs = 0;
        private int maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES;
        private int cacheBlocks = PrefixCacheModel.DEFAULT_CAPACITY_BLOCKS;
        private int blockSize = PrefixCacheModel.DEFAULT_BLOCK_SIZE;
        private boolean enablePromptTokensDetails = true;
        private Duration prefillPerToken = Duration.ZERO;
        private String apiKey;
        private int kvEventsPort = -1;
        private int kvEventsReplayPort = -1;
        private SimKvEvents.Encoding kvEventsEncoding = SimKvEvents.Encoding.MAP;
        private String kvEventsTopic = "";
        private java.nio.file.Path tokenizerPath;

        private Builder() {
        }

        public Builder host(String host) {
            this.host = host;
            return this;
        }

        public Builder port(int port) {
            this.port = port;
            return this;
        }

        public Builder models(List<String> models) {
            this.models = new ArrayList<>(models);
            return this;
        }

        public Builder models(String... models) {
            return models(List.of(models));
        }

        public Builder workerId(String workerId) {
            this.workerId = workerId;
            return this;
        }

        public Builder ttft(Duration ttft) {
            this.ttft = ttft;
            return this;
        }

        public Builder interTokenLatency(Duration interTokenLatency) {
            this.interTokenLatency = interTokenLatency;
            return this;
        }

        public Builder defaultMaxTokens(int defaultMaxTokens) {
            this.defaultMaxTokens = defaultMaxTokens;
            return this;
        }

        public Builder maxNumSeqs(int maxNumSeqs) {
            this.maxNumSeqs = maxNumSeqs;
            return this;
        }

        public Builder maxPayloadBytes(int maxPayloadBytes) {
            this.maxPayloadBytes = maxPayloadBytes;
            return this;
        }

        public Builder cacheBlocks(int cacheBlocks) {
            this.cacheBlocks = cacheBlocks;
            return this;
        }

        public Builder blockSize(int blockSize) {
            this.blockSize = blockSize;
            return this;
        }

        public Builder enablePromptTokensDetails(boolean enablePromptTokensDetails) {
            this.enablePromptTokensDetails = enablePromptTokensDetails;
            return this;
        }

        public Builder prefillPerToken(Duration prefillPerToken) {
            this.prefillPerToken = prefillPerToken;
            return this;
        }

        public Builder apiKey(String apiKey) {
            this.apiKey = apiKey;
            return this;
        }

        /** Publish KV-cache events at this port (0: ephemeral; -1: off, the default). */
        public Builder kvEventsPort(int kvEventsPort) {
            this.kvEventsPort = kvEventsPort;
            return this;
        }

        /** Answer replay requests at this port (0: ephemeral; -1: none, the default). */
        public Builder kvEventsReplayPort(int kvEventsReplayPort) {
            this.kvEventsReplayPort = kvEventsReplayPort;
            return this;
        }

        public Builder kvEventsEncoding(SimKvEvents.Encoding kvEventsEncoding) {
            this.kvEventsEncoding = kvEventsEncoding;
            return this;
        }

        public Builder kvEventsTopic(String kvEventsTopic) {
            this.kvEventsTopic = kvEventsTopic;
            return this;
        }

        public Builder tokenizerPath(java.nio.file.Path tokenizerPath) {
            this.tokenizerPath = tokenizerPath;
            return this;
        }

        public SimConfig build() {
            return new SimConfig(host, port, models, workerId, ttft, interTokenLatency, defaultMaxTokens,
                    maxNumSeqs, maxPayloadBytes, cacheBlocks, blockSize, enablePromptTokensDetails,
                    prefillPerToken, apiKey, kvEventsPort, kvEventsReplayPort, kvEventsEncoding, kvEventsTopic,
                    tokenizerPath);
        }
    }
}
