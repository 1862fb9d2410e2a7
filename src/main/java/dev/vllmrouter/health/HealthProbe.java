package dev.vllmrouter.health;

import java.time.Duration;

import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamResponse;

/**
 * One {@code GET <base>/health} probe: healthy means any 2xx within the timeout. Health probes carry no
 * credentials (vLLM's /health is unauthenticated).
 */
public final class HealthProbe {
    private final UpstreamClient client;
    private final String endpoint;
    private final Duration timeout;

    public HealthProbe(UpstreamClient client, String endpoint, Duration timeout) {
        this.client = client;
        this.endpoint = endpoint;
        this.timeout = timeout;
    }

    public boolean probe(String baseUrl) {
        try (UpstreamResponse up = client.send(baseUrl, "GET", baseUrl, endpoint, h -> {
        }, null, timeout)) {
            up.body().readAllBytes();
            return up.status() / 100 == 2;
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }
}
