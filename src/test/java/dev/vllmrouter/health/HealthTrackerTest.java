package dev.vllmrouter.health;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class HealthTrackerTest {
    @Test
    void flipsOnlyAfterConsecutiveResultsOfTheOtherKind() {
        HealthTracker t = new HealthTracker(3, 2);
        assertThat(t.healthy("a")).as("servers start healthy").isTrue();
        assertThat(t.record("a", false)).isNull();
        assertThat(t.record("a", false)).isNull();
        assertThat(t.record("a", true)).as("a success resets the failure streak").isNull();
        assertThat(t.record("a", false)).isNull();
        assertThat(t.record("a", false)).isNull();
        assertThat(t.record("a", false)).isFalse();
        assertThat(t.healthy("a")).isFalse();
        assertThat(t.record("a", false)).as("already unhealthy: no flip").isNull();
        assertThat(t.record("a", true)).isNull();
        assertThat(t.record("a", false)).as("a failure resets the success streak").isNull();
        assertThat(t.record("a", true)).isNull();
        assertThat(t.record("a", true)).isTrue();
        assertThat(t.healthy("a")).isTrue();
        assertThat(t.healthy("b")).as("servers are independent").isTrue();
    }
}
