package dev.vllmrouter.metrics;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PrometheusMetricsTest {
    private final PrometheusMetrics metrics = new PrometheusMetrics();
    private final List<String> live = new CopyOnWriteArrayList<>();

    private void traffic(String worker) {
        metrics.decision("round_robin", worker, "round_robin");
        metrics.circuitTransition(worker, "closed", "open");
        metrics.firstToken(worker, 1_000_000);
        metrics.interToken(worker, 1_000_000);
        metrics.streamError(worker, false);
        metrics.pdPrefill(worker, false);
        metrics.pdDecode(worker, 200);
    }

    @Test
    void seriesOfRemovedWorkersAreDroppedAtTheNextScrape() {
        metrics.liveWorkers(() -> live);
        live.addAll(List.of("http://10.0.0.1:8000", "http://10.0.0.2:8000"));
        traffic("http://10.0.0.1:8000");
        traffic("http://10.0.0.2:8000");
        assertThat(metrics.scrape()).contains("worker=\"http://10.0.0.1:8000\"")
                .contains("worker=\"http://10.0.0.2:8000\"");

        live.remove("http://10.0.0.1:8000"); // e.g. a pod of a rollout went away
        String scrape = metrics.scrape();
        assertThat(scrape).doesNotContain("10.0.0.1").contains("worker=\"http://10.0.0.2:8000\"")
                .contains("vllm_router_policy_decision_reasons_total{policy=\"round_robin\",reason=\"round_robin\"} 2");

        live.add("http://10.0.0.1:8000"); // back again: its series start over
        traffic("http://10.0.0.1:8000");
        assertThat(metrics.scrape())
                .contains("vllm_router_policy_decisions_total{policy=\"round_robin\",worker=\"http://10.0.0.1:8000\"} 1");
    }

    @Test
    void manyWorkersComingAndGoingLeaveNothingBehind() {
        metrics.liveWorkers(() -> live);
        for (int i = 0; i < 1_000; i++) {
            String w = "http://10.1." + (i / 250) + "." + (i % 250) + ":8000";
            live.add(w);
            traffic(w);
            live.remove(w);
        }
        live.add("http://10.9.9.9:8000");
        traffic("http://10.9.9.9:8000");
        String scrape = metrics.scrape();
        assertThat(scrape).doesNotContain("10.1.");
        assertThat(metrics.scrape()).hasSize(scrape.length()); // stable
    }
}
