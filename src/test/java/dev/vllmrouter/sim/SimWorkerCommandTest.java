package dev.vllmrouter.sim;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The sim-worker command line maps onto {@link SimConfig} and {@link SimFaults}. */
class SimWorkerCommandTest {

    private static SimWorkerCommand parse(String... args) {
        SimWorkerCommand cmd = new SimWorkerCommand();
        new CommandLine(cmd).parseArgs(args);
        return cmd;
    }

    @Test
    void defaults() {
        SimConfig config = parse().toConfig();
        assertThat(config.host()).isEqualTo("127.0.0.1");
        assertThat(config.port()).isEqualTo(8001);
        assertThat(config.models()).containsExactly("demo");
        assertThat(config.workerId()).isNull();
        assertThat(config.ttft()).isZero();
        assertThat(config.interTokenLatency()).isZero();
        assertThat(config.defaultMaxTokens()).isEqualTo(16);
        assertThat(config.maxNumSeqs()).isZero();
        assertThat(config.maxPayloadBytes()).isEqualTo(SimConfig.DEFAULT_MAX_PAYLOAD_BYTES);
        assertThat(config.cacheBlocks()).isEqualTo(8192);
        assertThat(config.blockSize()).isEqualTo(16);
        assertThat(config.enablePromptTokensDetails()).isTrue();
        assertThat(config.prefillPerToken()).isZero();
        assertThat(config).isEqualTo(SimConfig.builder().port(8001).build());
        SimFaults faults = new SimFaults();
        parse().applyFaults(faults);
        assertThat(faults.status()).isZero();
        assertThat(faults.remainingFailures()).isZero();
        assertThat(faults.hanging()).isFalse();
        assertThat(faults.dieAfterEvents()).isEqualTo(-1);
        assertThat(faults.isHealthy()).isTrue();
    }

    @Test
    void everyOption() {
        SimWorkerCommand cmd = parse("--host", "0.0.0.0", "--port", "9000", "--model", "a", "--model", "b",
                "--worker-id", "w1", "--ttft-ms", "50", "--itl-ms", "5", "--max-tokens", "32", "--max-num-seqs", "4",
                "--max-payload-bytes", "2048", "--status-code", "503", "--fail-first-n", "2", "--hang",
                "--die-after-events", "3", "--unhealthy", "--cache-blocks", "100", "--block-size", "32",
                "--no-enable-prompt-tokens-details", "--prefill-us-per-token", "25");
        SimConfig config = cmd.toConfig();
        assertThat(config.host()).isEqualTo("0.0.0.0");
        assertThat(config.port()).isEqualTo(9000);
        assertThat(config.models()).containsExactly("a", "b");
        assertThat(config.workerId()).isEqualTo("w1");
        assertThat(config.ttft()).isEqualTo(Duration.ofMillis(50));
        assertThat(config.interTokenLatency()).isEqualTo(Duration.ofMillis(5));
        assertThat(config.defaultMaxTokens()).isEqualTo(32);
        assertThat(config.maxNumSeqs()).isEqualTo(4);
        assertThat(config.maxPayloadBytes()).isEqualTo(2048);
        assertThat(config.cacheBlocks()).isEqualTo(100);
        assertThat(config.blockSize()).isEqualTo(32);
        assertThat(config.enablePromptTokensDetails()).isFalse();
        assertThat(config.prefillPerToken()).isEqualTo(Duration.ofMillis(25).dividedBy(1000));
        assertThat(config.toBuilder().build()).isEqualTo(config);
        SimFaults faults = new SimFaults();
        cmd.applyFaults(faults);
        assertThat(faults.status()).isEqualTo(503);
        assertThat(faults.remainingFailures()).isEqualTo(2);
        assertThat(faults.takeFailure()).as("fail-first-n answers 500").isEqualTo(500);
        assertThat(faults.hanging()).isTrue();
        assertThat(faults.dieAfterEvents()).isEqualTo(3);
        assertThat(faults.isHealthy()).isFalse();
    }

    @Test
    void promptTokensDetailsFlagForms() {
        assertThat(parse("--enable-prompt-tokens-details").toConfig().enablePromptTokensDetails()).isTrue();
        assertThat(parse("--enable-prompt-tokens-details=false").toConfig().enablePromptTokensDetails()).isFalse();
        assertThat(parse("--enable-prompt-tokens-details=true").toConfig().enablePromptTokensDetails()).isTrue();
        assertThat(parse("--no-enable-prompt-tokens-details").toConfig().enablePromptTokensDetails()).isFalse();
    }

    @Test
    void badCacheSettingsAreRejected() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> parse("--cache-blocks", "0").toConfig())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cacheBlocks");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> parse("--block-size", "0").toConfig())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blockSize");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> parse("--prefill-us-per-token", "-1").toConfig())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prefillPerToken");
    }

    @Test
    void startWorkerPrintsTheListeningLine() {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        SimWorkerCommand cmd = new SimWorkerCommand(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        new CommandLine(cmd).parseArgs("--port", "0", "--model", "m", "--worker-id", "w-7");
        try (SimWorker worker = cmd.startWorker()) {
            assertThat(buffer.toString(StandardCharsets.UTF_8).trim()).isEqualTo(
                    "sim-worker w-7 listening on http://127.0.0.1:" + worker.port() + " serving models [m]");
            assertThat(new SimClient(worker).get("/health").statusCode()).isEqualTo(200);
            assertThat(worker.workerId()).isEqualTo("w-7");
        }
    }

    @Test
    void helpMentionsEveryFlag() {
        String usage = new CommandLine(new SimWorkerCommand()).getUsageMessage();
        for (String flag : List.of("--host", "--port", "--model", "--worker-id", "--ttft-ms", "--itl-ms",
                "--max-tokens", "--max-num-seqs", "--status-code", "--fail-first-n", "--hang",
                "--die-after-events", "--unhealthy", "--cache-blocks", "--block-size",
                "--[no-]enable-prompt-tokens-details", "--prefill-us-per-token")) {
            assertThat(usage).contains(flag);
        }
        assertThat(usage).startsWith("Usage: sim-worker");
    }

    @Test
    void defaultWorkerIdUsesThePort() {
        SimWorker worker = SimWorker.start(SimConfig.builder().build());
        try {
            assertThat(worker.workerId()).isEqualTo("sim-" + worker.port());
            assertThat(worker.url()).isEqualTo("http://127.0.0.1:" + worker.port());
            assertThat(worker.isRunning()).isTrue();
        } finally {
            worker.close();
        }
        worker.close(); // idempotent
        assertThat(worker.isRunning()).isFalse();
    }
}
