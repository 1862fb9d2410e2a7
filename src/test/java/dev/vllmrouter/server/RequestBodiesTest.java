package dev.vllmrouter.server;

import java.io.ByteArrayInputStream;
import java.io.IOException;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.openai.RouterException;
import dev.vllmrouter.proxy.BufferBudget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RequestBodiesTest {
    private final BufferBudget budget = new BufferBudget(100_000);
    private final RequestBodies bodies = new RequestBodies(budget, 60_000);

    @Test
    void aBodyWithALengthReservesItWholeBeforeReading() throws IOException {
        BufferBudget budget = new BufferBudget(90_000);
        RequestBodies bodies = new RequestBodies(budget, 60_000);
        long[] held = {0};
        byte[] body = bodies.read(new ByteArrayInputStream(new byte[40_000]), 40_000, held);
        assertThat(body).hasSize(40_000);
        assertThat(held[0]).isEqualTo(40_000);
        assertThat(budget.reserved()).isEqualTo(40_000);

        long[] second = {0};
        assertThatThrownBy(() -> bodies.read(new ByteArrayInputStream(new byte[0]), 60_001, second))
                .isInstanceOfSatisfying(RouterException.class, e -> assertThat(e.error().status()).isEqualTo(413));
        assertThatThrownBy(() -> bodies.read(new ByteArrayInputStream(new byte[0]), 60_000, second))
                .as("does not fit now: nothing read, nothing reserved")
                .isInstanceOfSatisfying(RouterException.class, e -> {
                    assertThat(e.error().status()).isEqualTo(503);
                    assertThat(e.retryAfterSeconds()).isEqualTo(1);
                });
        assertThat(second[0]).isZero();
        budget.release(held[0]);
        assertThat(bodies.read(new ByteArrayInputStream(new byte[60_000]), 60_000, second)).hasSize(60_000);
    }

    @Test
    void aChunkedBodyReservesAsItGrowsAndStopsAtTheLimits() throws IOException {
        long[] held = {0};
        byte[] body = bodies.read(new ByteArrayInputStream(new byte[20_000]), -1, held);
        assertThat(body).hasSize(20_000);
        assertThat(held[0]).isGreaterThanOrEqualTo(20_000).isEqualTo(budget.reserved());

        long[] big = {0};
        assertThatThrownBy(() -> bodies.read(new ByteArrayInputStream(new byte[70_000]), -1, big))
                .isInstanceOfSatisfying(RouterException.class, e -> assertThat(e.error().status()).isEqualTo(413));
        assertThat(budget.reserved()).isEqualTo(held[0] + big[0]);
    }

    @Test
    void aBodyLargerThanTheWholeBudgetCanNeverFit() {
        RequestBodies small = new RequestBodies(new BufferBudget(1000), 60_000);
        assertThatThrownBy(() -> small.read(new ByteArrayInputStream(new byte[0]), 2000, new long[1]))
                .isInstanceOfSatisfying(RouterException.class, e -> {
                    assertThat(e.error().status()).isEqualTo(413);
                    assertThat(e.getMessage()).contains("1000 bytes", "request bodies");
                });
    }
}
