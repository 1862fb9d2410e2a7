package dev.vllmrouter.pd;

import java.io.IOException;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.policy.PolicyRuntime;
import dev.vllmrouter.proxy.AttemptLoop;
import dev.vllmrouter.proxy.HeaderRules;
import dev.vllmrouter.upstream.UpstreamClient;

/**
 * What the legs of a prefill/decode request share to reach their workers ({@link PrefillLeg}, {@link DecodeLeg},
 * {@link WritePrefill}): the stages' policies, the upstream client and header rules, the attempt loop, the clock and
 * randomness, Mooncake's bootstrap registry ({@code null} unless the connector is Mooncake), the read timeout and
 * the metrics. Immutable; one per {@link PdForwarder}.
 */
record PdCalls(PolicyRuntime prefillPolicy, PolicyRuntime decodePolicy, UpstreamClient client,
               HeaderRules headerRules, AttemptLoop attempts, Ticker ticker, RandomSource random,
               MooncakeBootstrap mooncake, Duration readTimeout, RouterMetrics metrics) {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The time a call may take: what is left until {@code deadline} (at least 1 ms), at most the read timeout. */
    Duration timeout(long deadline) {
        long remaining = Math.max(1_000_000L, deadline - ticker.nanos());
        return remaining < readTimeout.toNanos() ? Duration.ofNanos(remaining) : readTimeout;
    }

    static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
