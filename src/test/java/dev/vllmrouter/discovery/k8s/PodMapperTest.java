package dev.vllmrouter.discovery.k8s;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.WorkerSpec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The pure parts: reading a pod, deciding whether it is a worker, the selector syntax, the backoff. */
class PodMapperTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final PodMapper REGULAR =
            new PodMapper(KubernetesDiscoveryConfig.regular(Map.of("app", "vllm"), 8000, null));
    private static final PodMapper PD = new PodMapper(KubernetesDiscoveryConfig.prefillDecode(
            Map.of("role", "prefill"), Map.of("stage", "decode"), 8000, null));

    private static Optional<WorkerSpec> map(PodMapper mapper, FakePod pod) {
        return mapper.worker(PodView.of(pod.toJson(7)));
    }

    @Test
    void readsThePodFieldsAndIgnoresUnknownOnes() {
        PodView pod = PodView.of(FakePod.ready("vllm-0", "10.0.0.1", "app", "vllm").toJson(7));
        assertThat(pod).isEqualTo(new PodView("uid-vllm-0", "default/vllm-0", Map.of("app", "vllm"), Map.of(),
                "10.0.0.1", "Running", true, false));
        assertThat(PodView.resourceVersion(FakePod.ready("x", "1.2.3.4").toJson(42))).isEqualTo("42");
    }

    @Test
    void toleratesAPodWithAlmostNothing() throws Exception {
        PodView pod = PodView.of(JSON.readTree("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\"}}"));
        assertThat(pod).isEqualTo(new PodView("ns/p", "ns/p", Map.of(), Map.of(), null, "Unknown", false, false));
        assertThat(REGULAR.worker(pod)).isEmpty();
    }

    @Test
    void aWorkerIsReadyRunningAddressedAndNotTerminating() {
        FakePod pod = FakePod.ready("vllm-0", "10.0.0.1", "app", "vllm", "extra", "label");
        assertThat(map(REGULAR, pod)).hasValueSatisfying(s -> {
            assertThat(s.url().id()).isEqualTo("http://10.0.0.1:8000");
            assertThat(s.role()).isEqualTo(Role.REGULAR);
            assertThat(s.bootstrapPort()).isEqualTo(-1);
        });
        assertThat(map(REGULAR, pod.withReady(false))).as("not ready").isEmpty();
        assertThat(map(REGULAR, pod.withPhase("Pending"))).as("pending").isEmpty();
        assertThat(map(REGULAR, pod.withIp(null))).as("no IP yet").isEmpty();
        assertThat(map(REGULAR, pod.beingDeleted())).as("terminating").isEmpty();
        assertThat(map(REGULAR, pod.withLabels("app", "web"))).as("other labels").isEmpty();
        assertThat(map(REGULAR, pod.withIp("fd00::1"))).get().extracting(s -> s.url().id())
                .isEqualTo("http://[fd00::1]:8000");
    }

    @Test
    void emptySelectorsMatchNothing() {
        PodMapper none = new PodMapper(KubernetesDiscoveryConfig.regular(Map.of(), 8000, null));
        assertThat(map(none, FakePod.ready("vllm-0", "10.0.0.1", "app", "vllm"))).isEmpty();
    }

    @Test
    void prefillWinsAndOnlyPrefillReadsTheBootstrapPort() {
        String key = KubernetesDiscoveryConfig.BOOTSTRAP_PORT_ANNOTATION;
        assertThat(PD.role(Map.of("role", "prefill", "stage", "decode"))).contains(Role.PREFILL);
        assertThat(PD.role(Map.of("stage", "decode"))).contains(Role.DECODE);
        assertThat(PD.role(Map.of("app", "vllm"))).isEmpty();
        assertThat(map(PD, FakePod.ready("p", "10.0.0.1", "role", "prefill").withAnnotation(key, " 8998 ")))
                .get().extracting(WorkerSpec::bootstrapPort).isEqualTo(8998);
        for (String bad : new String[] {"", "x", "0", "65536", "-1", "80.5"}) {
            assertThat(map(PD, FakePod.ready("p", "10.0.0.1", "role", "prefill").withAnnotation(key, bad)))
                    .as(bad).get().extracting(WorkerSpec::bootstrapPort).isEqualTo(-1);
        }
        assertThat(map(PD, FakePod.ready("d", "10.0.0.2", "stage", "decode").withAnnotation(key, "8998")))
                .get().extracting(WorkerSpec::bootstrapPort).isEqualTo(-1);
    }

    @Test
    void selectorsAreSortedAndValidated() {
        KubernetesDiscoveryConfig config = KubernetesDiscoveryConfig.regular(
                Map.of("tier", "gpu", "app.kubernetes.io/name", "vllm", "empty", ""), 80, " ");
        assertThat(KubernetesDiscoveryConfig.labelSelector(config.selector()))
                .isEqualTo("app.kubernetes.io/name=vllm,empty=,tier=gpu");
        assertThat(config.namespace()).as("blank means all namespaces").isNull();
        assertThatThrownBy(() -> KubernetesDiscoveryConfig.regular(Map.of("app", "a,b"), 80, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'app=a,b'");
        assertThatThrownBy(() -> KubernetesDiscoveryConfig.regular(Map.of("bad key", "v"), 80, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label key");
        assertThatThrownBy(() -> KubernetesDiscoveryConfig.regular(Map.of("Upper.Case/x", "v"), 80, null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> KubernetesDiscoveryConfig.regular(Map.of("app", "vllm"), 0, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port");
    }

    @Test
    void backoffDoublesFromOneSecondToFiveMinutes() {
        ReconnectBackoff b = ReconnectBackoff.DEFAULT;
        assertThat(List.of(1, 2, 3, 9, 10, 11, 1000)).extracting(n -> b.delay(n).toSeconds())
                .containsExactly(1L, 2L, 4L, 256L, 300L, 300L, 300L);
        assertThat(new ReconnectBackoff(Duration.ofMillis(10), Duration.ofMillis(25)).delay(3))
                .isEqualTo(Duration.ofMillis(25));
        assertThatThrownBy(() -> b.delay(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
