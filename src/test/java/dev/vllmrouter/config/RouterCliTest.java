package dev.vllmrouter.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vllmrouter.common.WorkerUrl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RouterCliTest {
    private static final Map<String, String> NO_ENV = Map.of();

    @Test
    void defaultsMatchVllmRouter() {
        RouterConfig c = RouterCli.parse(NO_ENV);
        assertThat(c.host()).isEqualTo("127.0.0.1");
        assertThat(c.port()).isEqualTo(30000);
        assertThat(c.prometheusHost()).isEqualTo("127.0.0.1");
        assertThat(c.prometheusPort()).isEqualTo(29000);
        assertThat(c.maxPayloadSize()).isEqualTo(536_870_912L);
        assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(1800));
        assertThat(c.readTimeout()).isEqualTo(Duration.ofSeconds(1800));
        assertThat(c.dataParallelSize()).isEqualTo(1);
        assertThat(c.requestIdHeaders()).containsExactly("x-request-id", "x-correlation-id", "x-trace-id",
                "request-id");
        assertThat(c.policy().name()).isEqualTo("cache_aware");
        assertThat(c.policy().cacheThreshold()).isEqualTo(0.3);
        assertThat(c.policy().balanceAbsThreshold()).isEqualTo(64);
        assertThat(c.policy().balanceRelThreshold()).isEqualTo(1.5);
        assertThat(c.policy().evictionInterval()).isEqualTo(Duration.ofSeconds(120));
        assertThat(c.policy().maxTreeSize()).isEqualTo(67_108_864L);
        assertThat(c.workerStartupTimeout()).isEqualTo(Duration.ofSeconds(600));
        assertThat(c.workerStartupCheckInterval()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void workerUrlsAreSpaceSeparatedValues() {
        RouterConfig c = RouterCli.parse(NO_ENV, "--worker-urls", "http://a:8000", "http://b:8000/", "--port", "1");
        assertThat(c.workers()).extracting(WorkerUrl::base).containsExactly("http://a:8000", "http://b:8000");
        assertThat(c.port()).isEqualTo(1);
    }

    @Test
    void requestIdHeadersAreLowerCased() {
        RouterConfig c = RouterCli.parse(NO_ENV, "--request-id-headers", "X-Trace", "x-Other");
        assertThat(c.requestIdHeaders()).containsExactly("x-trace", "x-other");
    }

    @Test
    void precedenceIsCliThenEnvThenFileThenDefault(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("router.yaml");
        Files.writeString(file, """
                port: 31000
                policy: random
                prometheus-port: 29100
                worker-urls:
                  - http://file-a:8000
                  - http://file-b:8000
                request-id-headers: [x-from-file]
                """);
        Map<String, String> env = Map.of("VLLM_ROUTER_PORT", "32000", "VLLM_ROUTER_PROMETHEUS_PORT", "29200",
                "VLLM_ROUTER_STAGES", "1");
        RouterConfig c = RouterCli.parse(env, "--config", file.toString(), "--prometheus-port", "29300");
        assertThat(c.prometheusPort()).as("CLI beats env and file").isEqualTo(29300);
        assertThat(c.port()).as("env beats file").isEqualTo(32000);
        assertThat(c.policy().name()).as("file beats default").isEqualTo("random");
        assertThat(c.workers()).extracting(WorkerUrl::base).containsExactly("http://file-a:8000", "http://file-b:8000");
        assertThat(c.requestIdHeaders()).containsExactly("x-from-file");
        assertThat(c.host()).as("default").isEqualTo("127.0.0.1");
    }

    @Test
    void configFileMayComeFromTheEnvironment(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("r.yaml");
        Files.writeString(file, "port: 31500\n");
        assertThat(RouterCli.parse(Map.of("VLLM_ROUTER_CONFIG", file.toString())).port()).isEqualTo(31500);
    }

    @Test
    void envListsMaySplitOnSpaces() {
        RouterConfig c = RouterCli.parse(Map.of("VLLM_ROUTER_WORKER_URLS", "http://a:1 http://b:2"));
        assertThat(c.workers()).hasSize(2);
    }

    @Test
    void unknownKeyInFileIsAnError(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, "prot: 1\n");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--config", file.toString()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("unknown setting 'prot'");
    }

    @Test
    void missingConfigFileIsAnError() {
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--config", "/nonexistent/x.yaml"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--config");
    }

    @Test
    void notYetSupportedFlagsFailAtStart(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--retry-max-retries", "3"))
                .isInstanceOf(ConfigException.class).hasMessage("not supported yet: --retry-max-retries");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation"))
                .isInstanceOf(ConfigException.class).hasMessage("not supported yet: --vllm-pd-disaggregation");
        assertThatThrownBy(() -> RouterCli.parse(Map.of("VLLM_ROUTER_SERVICE_DISCOVERY", "true")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("not supported yet: --service-discovery");
        Path file = dir.resolve("c.yaml");
        Files.writeString(file, "decode-policy: random\n");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--config", file.toString()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("not supported yet: --decode-policy");
    }

    @Test
    void badValuesNameTheFlag() {
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--port", "70000"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--port:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--port", "abc"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--port");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--policy", "fastest"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--policy:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--worker-urls", "localhost:8000"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--worker-urls:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--worker-urls", "http://a:1", "http://a:1/"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("twice");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--intra-node-data-parallel-size", "0"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--intra-node-data-parallel-size:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--max-payload-size", "0"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--max-payload-size:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--cache-threshold", "1.5"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--cache-threshold:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--balance-rel-threshold", "0.5"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--balance-rel-threshold:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--log-level", "loud"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--log-level:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--backend", "openai"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("not supported yet: --backend");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--no-such-flag"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--no-such-flag");
    }

    @Test
    void exampleConfigFilesParse() throws Exception {
        try (var files = Files.list(Path.of("config"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
                assertThat(RouterCli.parse(NO_ENV, "--config", f.toString())).as(f.toString()).isNotNull();
            }
        }
    }
}
