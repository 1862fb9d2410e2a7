package dev.vllmrouter.monitor;

import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class VllmMetricsTest {
    @Test
    void sumsRunningAndWaitingPerEngine() {
        String text = """
                # HELP vllm:num_requests_running Number of requests in model execution batches.
                # TYPE vllm:num_requests_running gauge
                vllm:num_requests_running{engine="0",model_name="llama"} 3.0
                vllm:num_requests_running{engine="1",model_name="llama"} 1.0
                # TYPE vllm:num_requests_waiting gauge
                vllm:num_requests_waiting{model_name="llama",engine="0"} 2.0
                vllm:num_requests_waiting{engine="1",model_name="llama"} 0.0
                vllm:num_requests_waiting_by_reason{engine="0",reason="capacity"} 9.0
                vllm:kv_cache_usage_perc{engine="0",model_name="llama"} 0.43
                """;
        assertThat(VllmMetrics.queueByEngine(text)).isEqualTo(Map.of("0", 5, "1", 1));
    }

    @Test
    void seriesWithoutLabelsAndOddFormatting() {
        assertThat(VllmMetrics.queueByEngine("vllm:num_requests_running 4\nvllm:num_requests_waiting 1.0 1700000000\n"))
                .isEqualTo(Map.of("", 5));
        assertThat(VllmMetrics.queueByEngine("vllm:num_requests_running{engine=\"0\"} NaN\n"
                + "vllm:num_requests_running{engine=\"0\" broken\nvllm:num_requests_waiting{engine=\"0\"} x\n")).isEmpty();
        assertThat(VllmMetrics.queueByEngine("http_requests_total 5\n")).isEmpty();
    }
}
