package dev.vllmrouter.worker;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.WorkerUrl;

import static org.assertj.core.api.Assertions.assertThat;

class WorkerRegistryReconcileTest {
    private final WorkerRegistry registry = new WorkerRegistry(1);

    private static WorkerSpec prefill(String url, int bootstrapPort) {
        return new WorkerSpec(WorkerUrl.parse(url), Role.PREFILL, bootstrapPort, null);
    }

    @Test
    void aChangedBootstrapPortReplacesTheWorkerInOneSnapshot() {
        registry.reconcile("k8s", List.of(prefill("http://10.0.0.1:8000", -1), prefill("http://10.0.0.2:8000", -1)));
        long before = registry.snapshot().version();
        Worker old = registry.find("http://10.0.0.1:8000");

        WorkerRegistry.Change change = registry.reconcile("k8s",
                List.of(prefill("http://10.0.0.1:8000", 8998), prefill("http://10.0.0.2:8000", -1)));

        assertThat(change).isEqualTo(new WorkerRegistry.Change(1, 1));
        assertThat(registry.snapshot().version()).as("one new snapshot, never one without the worker")
                .isEqualTo(before + 1);
        assertThat(registry.find("http://10.0.0.1:8000")).isNotSameAs(old)
                .extracting(Worker::bootstrapPort).isEqualTo(8998);
        assertThat(registry.reconcile("k8s", List.of(prefill("http://10.0.0.1:8000", 8998),
                prefill("http://10.0.0.2:8000", -1))).any()).as("unchanged: nothing happens").isFalse();
    }
}
