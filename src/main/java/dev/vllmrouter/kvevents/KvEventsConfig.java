package dev.vllmrouter.kvevents;

import java.time.Duration;

/**
 * Settings of the KV-event subscriber ({@code --kv-events-*}, {@code --kv-index-max-blocks}).
 *
 * @param port       the engines' publisher port for DP rank 0 ({@code tcp://<worker host>:<port + rank>})
 * @param topic      the topic prefix subscribed to ({@code ""}: all)
 * @param replayPort the engines' replay port for rank 0, or -1 when they have none (a gap then resets the source)
 * @param staleAfter how long a worker that is sent requests may go without a batch before it is in fallback
 * @param maxBlocks  the index's bound, in (worker, block) entries
 */
public record KvEventsConfig(int port, String topic, int replayPort, Duration staleAfter, int maxBlocks) {
    public static final Duration DEFAULT_STALE = Duration.ofSeconds(10);

    public KvEventsConfig {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("--kv-events-port: " + port + " (expected 1..65535)");
        }
        if (replayPort != -1 && (replayPort < 1 || replayPort > 65535)) {
            throw new IllegalArgumentException("--kv-events-replay-port: " + replayPort + " (expected 1..65535)");
        }
        if (staleAfter.isNegative() || staleAfter.isZero()) {
            throw new IllegalArgumentException("--kv-events-stale-secs: " + staleAfter.toSeconds() + " (expected > 0)");
        }
        if (maxBlocks < 1) {
            throw new IllegalArgumentException("--kv-index-max-blocks: " + maxBlocks + " (expected >= 1)");
        }
        topic = topic == null ? "" : topic;
    }
}
