package dev.vllmrouter.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The manifests in docs/kubernetes stay loadable: every file is valid YAML, every router config a ConfigMap carries is
 * one the router accepts (a misspelt key stops a pod at start) and one its quick start-up parser takes, and the HA
 * overlay has what docs/kubernetes/README.md says it has.
 */
class KubernetesManifestsTest {
    private static final Path DOCS = Path.of("docs", "kubernetes");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static List<JsonNode> documents(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    out.add(doc);
                }
            }
        }
        return out;
    }

    private static List<Path> yamlFiles() throws IOException {
        try (Stream<Path> s = Files.walk(DOCS)) {
            return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    @Test
    void everyRouterConfigInAConfigMapIsAccepted(@TempDir Path tmp) throws IOException {
        int configs = 0;
        for (Path file : yamlFiles()) {
            for (JsonNode doc : documents(file)) {
                JsonNode config = doc.path("data").path("config.yaml");
                if (!doc.path("kind").asText().equals("ConfigMap") || !config.isTextual()) {
                    continue;
                }
                Path copy = tmp.resolve("config-" + configs++ + ".yaml");
                // the tokenizer directory is the pod's (an init container fills it); here Qwen3's files stand in
                Path tokenizer = dev.vllmrouter.tokenize.TokenizerFixtures.modelDirectory("qwen3", tmp);
                Files.writeString(copy, config.asText().replace("tokenizer-path: /tokenizer",
                        "tokenizer-path: " + tokenizer));
                RouterConfig parsed = RouterCli.parse(Map.of(), "--config", copy.toString());
                assertThat(parsed.port()).as(file.toString()).isEqualTo(30000);
                // and a pod's start takes the quick path (QuickFlags), not picocli's model of the flags
                String[] args = {"--config", copy.toString()};
                assertThat(QuickFlags.parse(args, SettingsSource.create(Map.of(), copy, args)))
                        .as("the quick flag parser takes %s", file).isNotNull();
            }
        }
        assertThat(configs).as("ConfigMaps found").isGreaterThanOrEqualTo(3);
    }

    @Test
    void theHighAvailabilityOverlayHasReplicasSpreadABudgetAndAnAutoscaler() throws IOException {
        Path ha = DOCS.resolve("ha");
        JsonNode kustomization = documents(ha.resolve("kustomization.yaml")).get(0);
        List<String> files = new ArrayList<>();
        kustomization.path("resources").forEach(r -> files.add(r.asText()));
        kustomization.path("patches").forEach(p -> files.add(p.path("path").asText()));
        for (String f : files) {
            assertThat(ha.resolve(f)).as("listed in the kustomization").exists();
        }
        JsonNode deployment = documents(ha.resolve("deployment-ha.yaml")).get(0);
        assertThat(deployment.path("spec").path("replicas").asInt()).isGreaterThanOrEqualTo(3);
        assertThat(deployment.path("spec").path("template").path("spec").path("topologySpreadConstraints"))
                .isNotEmpty();
        assertThat(documents(ha.resolve("pdb.yaml")).get(0).path("kind").asText())
                .isEqualTo("PodDisruptionBudget");
        JsonNode hpa = documents(ha.resolve("hpa.yaml")).get(0);
        assertThat(hpa.path("kind").asText()).isEqualTo("HorizontalPodAutoscaler");
        assertThat(hpa.path("spec").path("metrics").toString()).contains("vllm_router_admission_in_flight");
        String config = documents(ha.resolve("configmap-ha.yaml")).get(0).path("data").path("config.yaml").asText();
        assertThat(config).contains("kv-events-port:").contains("kv-events-replay-port:")
                .contains("load-check-interval-secs:");
    }
}
