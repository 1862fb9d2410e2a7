package dev.vllmrouter.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.kvevents.KvEventsConfig;

class KvEventsFlagsTest {
    @Test
    void offByDefault() {
        assertThat(RouterCli.parse(Map.of(), "--worker-urls", "http://w:8000").kvEvents()).isNull();
    }

    @Test
    void flagsMakeTheConfig() {
        KvEventsConfig c = RouterCli.parse(Map.of(), "--worker-urls", "http://w:8000", "--kv-events-port", "5557",
                "--kv-events-topic", "kv@", "--kv-events-replay-port", "5558", "--kv-events-stale-secs", "3",
                "--kv-index-max-blocks", "1000").kvEvents();
        assertThat(c).isEqualTo(new KvEventsConfig(5557, "kv@", 5558, Duration.ofSeconds(3), 1000));
        KvEventsConfig defaults = RouterCli.parse(Map.of(), "--kv-events-port", "5557").kvEvents();
        assertThat(defaults).isEqualTo(new KvEventsConfig(5557, "", -1, Duration.ofSeconds(10), 1 << 20));
    }

    @Test
    void badValuesAreRefusedWithTheFlagsName() {
        assertThatThrownBy(() -> RouterCli.parse(Map.of(), "--kv-events-topic", "x"))
                .isInstanceOf(ConfigException.class).hasMessage("--kv-events-topic: only with --kv-events-port");
        assertThatThrownBy(() -> RouterCli.parse(Map.of(), "--kv-events-port", "70000"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--kv-events-port: 70000");
        assertThatThrownBy(() -> RouterCli.parse(Map.of(), "--kv-events-port", "5557", "--kv-events-stale-secs", "0"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--kv-events-stale-secs");
        assertThatThrownBy(() -> RouterCli.parse(Map.of(), "--kv-events-port", "5557", "--kv-index-max-blocks", "0"))
                .isInstanceOf(ConfigException.class).hasMessageStartingWith("--kv-index-max-blocks");
    }
}
