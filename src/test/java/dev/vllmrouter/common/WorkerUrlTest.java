package dev.vllmrouter.common;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WorkerUrlTest {
    @Test
    void plainUrlIsNormalised() {
        WorkerUrl u = WorkerUrl.parse(" http://10.0.0.1:8000/ ");
        assertThat(u.base()).isEqualTo("http://10.0.0.1:8000");
        assertThat(u.rank()).isEqualTo(-1);
        assertThat(u.id()).isEqualTo("http://10.0.0.1:8000");
    }

    @Test
    void rankSuffixIsSplitOff() {
        WorkerUrl u = WorkerUrl.parse("http://host:8000@3");
        assertThat(u.base()).isEqualTo("http://host:8000");
        assertThat(u.rank()).isEqualTo(3);
        assertThat(u.id()).isEqualTo("http://host:8000@3");
    }

    @Test
    void ipv6HostsWork() {
        WorkerUrl u = WorkerUrl.parse("http://[::1]:8000@1");
        assertThat(u.base()).isEqualTo("http://[::1]:8000");
        assertThat(u.rank()).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "localhost:8000", "ftp://h:1", "http://", "http://h:1?x=1", "http://u@h:1",
            "http://h:1@x", "grpc://h:1"})
    void badUrlsAreRefused(String text) {
        assertThatThrownBy(() -> WorkerUrl.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }
}
