package dev.vllmrouter.sim;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code sim-worker}: runs one simulated vLLM worker from the command line, for the demo and for benchmarks
 * ({@code java -jar target/vllm-router.jar sim-worker --port 8001 --model demo}, or standalone through
 * {@link #main(String[])}). Start-up faults map onto {@link SimFaults}; the process serves until the JVM is asked
 * to stop (SIGINT/SIGTERM), when a shutdown hook closes the worker.
 */
@Command(name = "sim-worker", mixinStandardHelpOptions = true,
        description = "Run a simulated vLLM OpenAI-compatible worker (chat/completions with SSE, embeddings, "
                + "rerank, /v1/models, /metrics, /health, /load) with a latency model and fault injection.")
public final class SimWorkerCommand implements Callable<Integer> {

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8001", description = "Port to listen on; 0 = ephemeral (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--model", description = "Served model name; repeatable, the first is the default (default: demo).")
    List<String> models = new ArrayList<>();

    @Option(names = "--worker-id", description = "Worker id shown in logs and kv_transfer_params (default: sim-<port>).")
    String workerId;

    @Option(names = "--ttft-ms", defaultValue = "0", description = "Time to first token in ms (default: ${DEFAULT-VALUE}).")
    long ttftMs;

    @Option(names = "--itl-ms", defaultValue = "0", description = "Inter-token latency in ms (default: ${DEFAULT-VALUE}).")
    long itlMs;

    @Option(names = "--max-tokens", defaultValue = "16",
            description = "Output tokens when a request sets no max_tokens (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--max-num-seqs", defaultValue = "0",
            description = "Requests running at once, the rest queue FIFO; 0 = unlimited (default: ${DEFAULT-VALUE}).")
    int maxNumSeqs;

    @Option(names = "--max-payload-bytes", defaultValue = "" + SimConfig.DEFAULT_MAX_PAYLOAD_BYTES,
            description = "Largest accepted request body; larger gets 413 (default: ${DEFAULT-VALUE}).")
    int maxPayloadBytes;

    @Option(names = "--cache-blocks", defaultValue = "" + PrefixCacheModel.DEFAULT_CAPACITY_BLOCKS,
            description = "Prefix-cache capacity in KV blocks, evicted least recently used (default: ${DEFAULT-VALUE}).")
    int cacheBlocks;

    @Option(names = "--block-size", defaultValue = "" + PrefixCacheModel.DEFAULT_BLOCK_SIZE,
            description = "Tokens per KV block; only full blocks are cached (default: ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--enable-prompt-tokens-details", negatable = true, defaultValue = "true", fallbackValue = "true",
            arity = "0..1",
            description = "Report usage.prompt_tokens_details.cached_tokens on prefix-cache hits, as vLLM with the "
                    + "same flag; --no-enable-prompt-tokens-details turns it off (default: ${DEFAULT-VALUE}).")
    boolean enablePromptTokensDetails;

    @Option(names = "--prefill-us-per-token", defaultValue = "0",
            description = "Extra time to first token per prompt token not found in the prefix cache, in "
                    + "microseconds (default: ${DEFAULT-VALUE}).")
    long prefillUsPerToken;

    @Option(names = "--status-code", defaultValue = "0",
            description = "Answer every inference request with this HTTP error status; 0 = normal (default: ${DEFAULT-VALUE}).")
    int statusCode;

    @Option(names = "--fail-first-n", defaultValue = "0",
            description = "Answer the first N inference requests with HTTP 500 (default: ${DEFAULT-VALUE}).")
    int failFirstN;

    @Option(names = "--hang", description = "Accept inference requests but never answer them.")
    boolean hang;

    @Option(names = "--die-after-events", defaultValue = "-1",
            description = "Cut every stream after N SSE events (no [DONE]); non-streaming requests get the "
                    + "connection closed without a response; -1 = off (default: ${DEFAULT-VALUE}).")
    int dieAfterEvents;

    @Option(names = "--unhealthy", description = "Answer /health and /ping with 503.")
    boolean unhealthy;

    @Option(names = "--register-pd", paramLabel = "HOST:PORT",
            description = "Register with a router's P2P-NCCL discovery address every 3 s, as vLLM does.")
    String registerPd;

    @Option(names = "--pd-role", defaultValue = "P",
            description = "Role announced with --register-pd: P (prefill) or D (decode) (default: ${DEFAULT-VALUE}).")
    String pdRole;

    @Option(names = "--zmq-address", paramLabel = "HOST:PORT",
            description = "KV-transfer address announced with --register-pd (default: <host>:<port + 10000>).")
    String zmqAddress;

    @Option(names = "--api-key", description = "As vLLM's --api-key: /v1 requests need 'Authorization: Bearer KEY'.")
    String apiKey;

    @Option(names = "--moriio-mode", paramLabel = "READ|WRITE",
            description = "Act as a vLLM engine with the MoRIIOConnector in this transfer mode; with --register-pd it "
                    + "registers as MoRI-IO engines do (for --kv-connector moriio).")
    SimMoriio.Mode moriioMode;

    @Option(names = "--kv-events-port", defaultValue = "-1", description = "Publish the prefix cache's changes as "
            + "vLLM's KV-cache events (ZeroMQ PUB at tcp://<host>:PORT, as --kv-events-config's endpoint); -1 = off, "
            + "0 = ephemeral (default: ${DEFAULT-VALUE}).")
    int kvEventsPort;

    @Option(names = "--kv-events-replay-port", defaultValue = "-1", description = "Serve vLLM's replay protocol "
            + "(ROUTER, as replay_endpoint) at this port; -1 = off (default: ${DEFAULT-VALUE}).")
    int kvEventsReplayPort;

    @Option(names = "--kv-events-encoding", defaultValue = "map", description = "map (vLLM 0.24 and later) or array "
            + "(vLLM 0.23 and earlier) (default: ${DEFAULT-VALUE}).")
    String kvEventsEncoding;

    @Option(names = "--kv-events-topic", defaultValue = "", description = "Topic of the KV-event messages (default: "
            + "none).")
    String kvEventsTopic;

    @Option(names = "--tokenizer-path", paramLabel = "DIR", description = "A Hugging Face model directory "
            + "(tokenizer.json, tokenizer_config.json with its chat_template, or chat_template.jinja): prompts are "
            + "tokenized as vLLM does, and the prefix cache, usage, /tokenize and the KV events use those token ids "
            + "(default: the simulator's own 4 characters per token).")
    java.nio.file.Path tokenizerPath;

    private final PrintStream out;

    public SimWorkerCommand() {
        this(System.out);
    }

    SimWorkerCommand(PrintStream out) {
        this.out = out;
    }

    /** The worker configuration these options describe. */
    public SimConfig toConfig() {
        return SimConfig.builder()
                .host(host)
                .port(port)
                .models(models.isEmpty() ? List.of("demo") : models)
                .workerId(workerId)
                .ttft(Duration.ofMillis(ttftMs))
                .interTokenLatency(Duration.ofMillis(itlMs))
                .defaultMaxTokens(maxTokens)
                .maxNumSeqs(maxNumSeqs)
                .maxPayloadBytes(maxPayloadBytes)
                .cacheBlocks(cacheBlocks)
                .blockSize(blockSize)
                .enablePromptTokensDetails(enablePromptTokensDetails)
                .prefillPerToken(Duration.ofNanos(Math.multiplyExact(prefillUsPerToken, 1000L)))
                .apiKey(apiKey)
                .kvEventsPort(kvEventsPort)
                .kvEventsReplayPort(kvEventsReplayPort)
                .kvEventsEncoding(SimKvEvents.Encoding.parse(kvEventsEncoding))
                .kvEventsTopic(kvEventsTopic)
                .tokenizerPath(tokenizerPath)
                .build();
    }

    /** Applies the start-up faults to a worker. */
    public void applyFaults(SimFaults faults) {
        if (statusCode != 0) {
            faults.status(statusCode);
        }
        if (failFirstN > 0) {
            faults.failNext(failFirstN, 500);
        }
        faults.hang(hang);
        faults.dieMidStream(dieAfterEvents);
        faults.healthy(!unhealthy);
    }

    /** Starts the worker with these options and prints the "listening" line. */
    public SimWorker startWorker() {
        SimWorker worker = SimWorker.start(toConfig());
        try {
            applyFaults(worker.faults());
        } catch (RuntimeException e) {
            worker.close();
            throw e;
        }
        out.println("sim-worker " + worker.workerId() + " listening on http://" + host + ":" + worker.port()
                + " serving models " + worker.config().models());
        out.flush();
        return worker;
    }

    @Override
    public Integer call() throws InterruptedException {
        dev.vllmrouter.Main.awaitWarmup();
        if (registerPd != null && !pdRole.equals("P") && !pdRole.equals("D")) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--pd-role: '" + pdRole
                    + "' (expected P or D)");
        }
        SimWorker worker = startWorker();
        worker.moriio().mode(moriioMode);
        SimRegistrar registrar = registerPd == null ? null : moriioMode != null
                ? SimRegistrar.moriio(registerPd, pdRole.equals("P"), worker)
                : new SimRegistrar(registerPd, pdRole.equals("P"), host + ":" + worker.port(),
                        zmqAddress != null ? zmqAddress : host + ":" + (worker.port() + 10000));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (registrar != null) {
                registrar.close();
            }
            worker.close();
            stopped.countDown();
        }, "sim-worker-shutdown"));
        stopped.await();
        return 0;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new SimWorkerCommand()).execute(args));
    }
}
