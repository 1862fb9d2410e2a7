package dev.vllmrouter.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.fault.CircuitBreakerConfig;
import dev.vllmrouter.fault.RetryConfig;

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
        assertThat(c.health()).isEqualTo(new HealthConfig(Duration.ofSeconds(60), Duration.ofSeconds(5), "/health", 3,
                2));
        assertThat(c.admission()).isEqualTo(new AdmissionConfig(32768, 100, Duration.ofSeconds(60),
                Duration.ofSeconds(30)));
        assertThat(c.retry()).isEqualTo(RetryConfig.defaults());
        assertThat(c.circuitBreaker()).isEqualTo(CircuitBreakerConfig.defaults());
    }

    @Test
    void theLoadCheckIntervalTakesFractionsOfASecond() {
        assertThat(RouterCli.parse(NO_ENV).loadCheckInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(RouterCli.parse(NO_ENV, "--load-check-interval-secs", "0.25").loadCheckInterval())
                .isEqualTo(Duration.ofMillis(250));
        assertThat(RouterCli.parse(Map.of("VLLM_ROUTER_LOAD_CHECK_INTERVAL_SECS", "0.5")).loadCheckInterval())
                .isEqualTo(Duration.ofMillis(500));
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--load-check-interval-secs", "0"))
                .hasMessageContaining("--load-check-interval-secs");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--load-check-interval-secs", "NaN"))
                .hasMessageContaining("--load-check-interval-secs");
    }

    @Test
    void reliabilityFlagsAreHonoured() {
        RouterConfig c = RouterCli.parse(NO_ENV, "--retry-max-retries", "2", "--retry-initial-backoff-ms", "10",
                "--retry-max-backoff-ms", "100", "--retry-backoff-multiplier", "2", "--retry-jitter-factor", "0",
                "--cb-failure-threshold", "4", "--cb-success-threshold", "1", "--cb-timeout-duration-secs", "5",
                "--cb-window-duration-secs", "30", "--max-concurrent-requests", "8", "--queue-size", "0",
                "--queue-timeout-secs", "2", "--shutdown-grace-period-secs", "9");
        assertThat(c.retry()).isEqualTo(new RetryConfig(2, Duration.ofMillis(10), Duration.ofMillis(100), 2, 0,
                false));
        assertThat(c.circuitBreaker()).isEqualTo(new CircuitBreakerConfig(4, 1, Duration.ofSeconds(5),
                Duration.ofSeconds(30), 1, false));
        assertThat(c.admission()).isEqualTo(new AdmissionConfig(8, 0, Duration.ofSeconds(2), Duration.ofSeconds(9)));
        assertThat(RouterCli.parse(NO_ENV, "--disable-retries").retry().maxAttempts()).isEqualTo(1);
        assertThat(RouterCli.parse(NO_ENV, "--disable-circuit-breaker").circuitBreaker().disabled()).isTrue();
        assertThat(RouterCli.parse(NO_ENV, "--cb-failure-threshold", "4294967295").circuitBreaker().disabled())
                .as("vllm-router's way of disabling the breaker").isTrue();
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

    /** What Kubernetes writes into a pod for a Service named vllm-router and one named vllm-router-prometheus. */
    private static Map<String, String> kubernetesServiceLinks() {
        Map<String, String> env = new java.util.HashMap<>();
        env.put("VLLM_ROUTER_SERVICE_HOST", "10.96.12.34");
        env.put("VLLM_ROUTER_SERVICE_PORT", "30000");
        env.put("VLLM_ROUTER_SERVICE_PORT_HTTP", "30000");
        env.put("VLLM_ROUTER_PORT", "tcp://10.96.12.34:30000");
        env.put("VLLM_ROUTER_PORT_30000_TCP", "tcp://10.96.12.34:30000");
        env.put("VLLM_ROUTER_PORT_30000_TCP_PROTO", "tcp");
        env.put("VLLM_ROUTER_PORT_30000_TCP_PORT", "30000");
        env.put("VLLM_ROUTER_PORT_30000_TCP_ADDR", "10.96.12.34");
        env.put("VLLM_ROUTER_PROMETHEUS_SERVICE_HOST", "10.96.12.35");
        env.put("VLLM_ROUTER_PROMETHEUS_SERVICE_PORT", "29000");
        env.put("VLLM_ROUTER_PROMETHEUS_PORT", "tcp://10.96.12.35:29000");
        env.put("VLLM_ROUTER_PROMETHEUS_PORT_29000_TCP_PORT", "29000");
        return env;
    }

    @Test
    void kubernetesServiceLinksAreNeverSettings(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("router.yaml");
        Files.writeString(file, "port: 31000\nprometheus-port: 29100\nhost: 0.0.0.0\n");
        RouterConfig c = RouterCli.parse(kubernetesServiceLinks(), "--config", file.toString());
        assertThat(c.port()).as("from the file, not VLLM_ROUTER_PORT=tcp://...").isEqualTo(31000);
        assertThat(c.prometheusPort()).isEqualTo(29100);
        assertThat(RouterCli.parse(kubernetesServiceLinks()).port()).as("the default").isEqualTo(30000);

        Map<String, String> env = kubernetesServiceLinks();
        env.put("VLLM_ROUTER_POLICY", "random");
        SettingsSource settings = SettingsSource.create(env, null);
        assertThat(settings.serviceLinks()).contains("VLLM_ROUTER_PORT", "VLLM_ROUTER_SERVICE_HOST",
                "VLLM_ROUTER_PORT_30000_TCP_ADDR", "VLLM_ROUTER_PROMETHEUS_PORT").doesNotContain("VLLM_ROUTER_POLICY");
        assertThat(RouterCli.parse(env).policy().name()).as("real settings still apply").isEqualTo("random");
    }

    @Test
    void unknownVariablesAreReportedNotFatal() {
        Map<String, String> env = new java.util.HashMap<>(kubernetesServiceLinks());
        env.put("VLLM_ROUTER_POLICIY", "random");
        env.put("VLLM_ROUTER_STAGES", "1");
        env.put("VLLM_ROUTER_WORKER_URLS", "http://a:8000");
        assertThat(RouterCli.parse(env).workers()).hasSize(1);
        SettingsSource settings = SettingsSource.create(env, null);
        picocli.CommandLine cmd = new picocli.CommandLine(new RouterCli.Holder());
        assertThat(settings.unknownVariables(GivenFlags.of(cmd.parseArgs()).keys()))
                .as("a typo is reported; vllm-router's own variables and service links are not")
                .containsExactly("VLLM_ROUTER_POLICIY");
    }

    @Test
    void aBadValueFromTheEnvironmentNamesTheVariable() {
        assertThatThrownBy(() -> RouterCli.parse(Map.of("VLLM_ROUTER_PORT", "thirty")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'--port'").hasMessageContaining("environment variable VLLM_ROUTER_PORT");
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
    void flagsThatChangeNothingHereAreAcceptedWithAWarning(@TempDir Path dir) throws Exception {
        RouterCli.Parsed p = RouterCli.parseWithWarnings(NO_ENV, "--worker-urls", "http://a:8000",
                "--backend", "vllm", "--history-backend", "memory", "--model-path", "/models/qwen",
                "--mini-lb");
        assertThat(p.config().workers()).hasSize(1);
        assertThat(p.warnings()).hasSize(3).anySatisfy(w -> assertThat(w).startsWith("--history-backend is accepted"))
                .anySatisfy(w -> assertThat(w).startsWith("--model-path is accepted"))
                .anySatisfy(w -> assertThat(w).startsWith("--mini-lb is accepted"));
        assertThat(RouterCli.parseWithWarnings(NO_ENV, "--runtime", "trtllm").warnings())
                .containsExactly("--backend trtllm: not implemented (as in vllm-router); routing as vllm");
        assertThat(RouterCli.parseWithWarnings(NO_ENV, "--history-backend", "none").warnings()).hasSize(1);
        Path file = dir.resolve("c.yaml");
        Files.writeString(file, "history-backend: memory\n");
        assertThat(RouterCli.parseWithWarnings(NO_ENV, "--config", file.toString()).warnings())
                .as("from a file too").hasSize(1);
        assertThat(RouterCli.parseWithWarnings(NO_ENV).warnings()).as("defaults warn about nothing").isEmpty();
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--history-backend", "redis"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("expected memory or none");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--backend", "sglang"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--backend: 'sglang'");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--rate-limit-tokens-per-second", "10"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("not supported yet: --rate-limit-tokens-per-second");
    }

    @Test
    void blankKeysAreRefusedWhereverTheyComeFrom(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> RouterCli.parse(Map.of("VLLM_ROUTER_CLIENT_API_KEYS", "")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--client-api-keys: an empty key")
                .hasMessageContaining("VLLM_ROUTER_CLIENT_API_KEYS");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--client-api-keys", ""))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--client-api-keys: an empty key");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--client-api-keys", "k1,,k2"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--client-api-keys: an empty key");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--admin-api-key", " "))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--admin-api-key: an empty key");
        assertThatThrownBy(() -> RouterCli.parse(Map.of("VLLM_ROUTER_ADMIN_API_KEY", "")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--admin-api-key: an empty key");
        Path file = dir.resolve("c.yaml");
        Files.writeString(file, "client-api-keys: []\n");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--config", file.toString()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--client-api-keys: an empty key");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--api-key", ""))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--api-key");
        assertThat(RouterCli.parse(NO_ENV, "--client-api-keys", "k1", "k2").auth().clientKeys())
                .containsExactlyInAnyOrder("k1", "k2");
    }

    @Test
    void anUnknownFlagAfterAListFlagIsNamed() {
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--worker-urls", "http://a:8000", "--bogus-flag", "1"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("Unknown option: '--bogus-flag'");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--selector", "app=vllm", "--no-such"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("'--no-such'");
    }

    @Test
    void notYetSupportedFlagsFailAtStart(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--wasm-middleware-route", "/v1/x"))
                .isInstanceOf(ConfigException.class).hasMessage("not supported yet: --wasm-middleware-route");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--enable-igw"))
                .isInstanceOf(ConfigException.class).hasMessage("not supported yet: --enable-igw");
        assertThatThrownBy(() -> RouterCli.parse(Map.of("VLLM_ROUTER_ENABLE_PROGRAM_SCHEDULING", "true")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("not supported yet: --enable-program-scheduling");
        Path file = dir.resolve("c.yaml");
        Files.writeString(file, "enable-igw: true\n");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--config", file.toString()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("not supported yet: --enable-igw");
    }

    @Test
    void kubernetesDiscoveryNeedsSelectorsAndValidLabels() {
        assertThat(RouterCli.parse(NO_ENV).kubernetes()).isNull();
        assertThatThrownBy(() -> RouterCli.parse(Map.of("VLLM_ROUTER_SERVICE_DISCOVERY", "true")))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--service-discovery: give --selector");
        var k8s = RouterCli.parse(NO_ENV, "--service-discovery", "--selector", "app=vllm", "tier=gpu",
                "--service-discovery-port", "8000", "--service-discovery-namespace", "llm").kubernetes();
        assertThat(k8s.selector()).containsEntry("app", "vllm").containsEntry("tier", "gpu").hasSize(2);
        assertThat(k8s.port()).isEqualTo(8000);
        assertThat(k8s.namespace()).isEqualTo("llm");
        assertThat(k8s.pdMode()).isFalse();
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--service-discovery", "--selector", "app=bad value"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--service-discovery:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation", "--service-discovery",
                "--prefill-selector", "role=prefill"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--decode-selector");
        var pd = RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation", "--service-discovery",
                "--prefill-selector", "role=prefill", "--decode-selector", "role=decode").kubernetes();
        assertThat(pd.pdMode()).isTrue();
        assertThat(pd.prefillSelector()).containsExactly(Map.entry("role", "prefill"));
        assertThat(pd.decodeSelector()).containsExactly(Map.entry("role", "decode"));
        assertThat(pd.namespace()).isNull();
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
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--health-check-endpoint", "health"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--health-check-endpoint:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--retry-backoff-multiplier", "0"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--retry-backoff-multiplier:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--cb-window-duration-secs", "0"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--cb-window-duration-secs:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--max-concurrent-requests", "0"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--max-concurrent-requests:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--health-failure-threshold", "0"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--health-failure-threshold:");
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
    void prefillTakesAnOptionalBootstrapPortLikeVllmRouter() {
        RouterConfig c = RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation", "--prefill", "http://p1:8000", "8998",
                "--prefill", "http://p2:8000", "none", "--prefill", "http://p3:8000", "--decode", "http://d1:8000",
                "--decode", "http://d2:8000", "--prefill-policy", "cache_aware", "--decode-policy", "power_of_two");
        assertThat(c.isPd()).isTrue();
        assertThat(c.pd().prefill()).extracting(p -> p.url().base() + "/" + p.bootstrapPort())
                .containsExactly("http://p1:8000/8998", "http://p2:8000/-1", "http://p3:8000/-1");
        assertThat(c.pd().decode()).extracting(WorkerUrl::base).containsExactly("http://d1:8000", "http://d2:8000");
        assertThat(c.pd().prefillPolicy().name()).isEqualTo("cache_aware");
        assertThat(c.pd().decodePolicy().name()).isEqualTo("power_of_two");
        assertThat(c.pd().kvConnector()).isEqualTo("nixl");
        RouterConfig defaults = RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation", "--policy", "random",
                "--prefill", "http://p:1", "--decode", "http://d:1");
        assertThat(defaults.pd().prefillPolicy().name()).as("stages default to --policy").isEqualTo("random");
        assertThat(defaults.pd().decodePolicy().name()).isEqualTo("random");
    }

    @Test
    void pdWorkersGetApiKeyElseOpenAiApiKey() {
        String[] pd = {"--vllm-pd-disaggregation", "--prefill", "http://p:1", "--decode", "http://d:1"};
        assertThat(RouterCli.parse(Map.of("OPENAI_API_KEY", "env"), pd).pd().workerApiKey()).isEqualTo("env");
        String[] withFlag = java.util.stream.Stream.concat(java.util.Arrays.stream(pd),
                java.util.stream.Stream.of("--api-key", "flag")).toArray(String[]::new);
        assertThat(RouterCli.parse(Map.of("OPENAI_API_KEY", "env"), withFlag).pd().workerApiKey()).isEqualTo("flag");
        assertThat(RouterCli.parse(Map.of("OPENAI_API_KEY", " "), pd).pd().workerApiKey()).as("blank: none")
                .isNull();
        assertThat(RouterCli.parse(NO_ENV, pd).pd().workerApiKey()).isNull();
        assertThat(RouterCli.parse(Map.of("OPENAI_API_KEY", "env"), "--worker-urls", "http://w:1").apiKey())
                .as("regular mode: only --api-key").isNull();
        assertThatThrownBy(() -> RouterCli.parse(Map.of("OPENAI_API_KEY", "a\nb"), pd))
                .isInstanceOf(ConfigException.class).hasMessage("OPENAI_API_KEY: contains control characters");
    }

    @Test
    void pdFlagsAreCheckedAtStart() {
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--prefill", "http://p:1"))
                .isInstanceOf(ConfigException.class).hasMessage("--prefill: only with --vllm-pd-disaggregation");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation", "--prefill", "http://p:1"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("at least one --prefill and one --decode");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation", "--prefill"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--prefill: missing URL");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation", "--prefill", "http://p:1",
                "--decode", "http://d:1", "--kv-connector", "moriio"))
                .isInstanceOf(ConfigException.class).hasMessage("--kv-connector moriio: needs --vllm-discovery-address "
                        + "(MoRI-IO engines register over ZeroMQ)");
        assertThat(RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation", "--kv-connector", "moriio",
                "--vllm-discovery-address", "0.0.0.0:30001").pd().moriio()).isTrue();
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation", "--prefill", "http://p:1",
                "--decode", "http://p:1"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("given twice");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation", "--worker-urls", "http://w:1",
                "--prefill", "http://p:1", "--decode", "http://d:1"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--worker-urls:");
        assertThatThrownBy(() -> RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation",
                "--vllm-discovery-address", "nohost"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--vllm-discovery-address:");
        RouterConfig discovery = RouterCli.parse(NO_ENV, "--vllm-pd-disaggregation",
                "--vllm-discovery-address", "0.0.0.0:30001");
        assertThat(discovery.pd().discoveryAddress()).isEqualTo("0.0.0.0:30001");
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
