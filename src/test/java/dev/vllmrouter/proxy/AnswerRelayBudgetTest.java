package dev.vllmrouter.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.helidon.http.Method;
import io.helidon.http.WritableHeaders;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.openai.RequestFacts;
import dev.vllmrouter.testing.ScriptedWorker;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.upstream.UpstreamResponse;
import dev.vllmrouter.worker.Lease;
import dev.vllmrouter.worker.Worker;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Memory stays bounded under large answers: however many large plain answers run at once, the bytes held in
 * buffers never exceed the {@link BufferBudget}; answers that do not fit stream through, complete.
 */
class AnswerRelayBudgetTest {
    private static final int MIB = 1024 * 1024;

    @Test
    void concurrentLargeAnswersNeverHoldMoreThanTheBudget() throws Exception {
        int answers = 8;
        byte[] payload = new byte[MIB];
        Arrays.fill(payload, (byte) 'x');
        payload[MIB - 1] = 'z';
        try (ScriptedWorker w = ScriptedWorker.startBare((r, out) -> {
            boolean chunked = r.target().equals("/chunked");
            ScriptedWorker.write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    + (chunked ? "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(MIB) + "\r\n"
                    : "Content-Length: " + MIB + "\r\n\r\n"));
            out.write(payload);
            if (chunked) {
                ScriptedWorker.write(out, "\r\n0\r\n\r\n");
            }
            return true;
        }); UpstreamClient client = new UpstreamClient(Duration.ofSeconds(2), Duration.ofSeconds(10))) {
            BufferBudget budget = new BufferBudget(3L * MIB);
            AnswerRelay relay = new AnswerRelay(Ticker.system(), RouterMetrics.NOOP, false, budget);
            Worker worker = new Worker(WorkerUrl.parse(w.url()));
            // every relay waits in its client until all have reached theirs: all answers are in flight at once
            CountDownLatch allAtTheClient = new CountDownLatch(answers);
            List<BlockingSink> sinks = new ArrayList<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> runs = new ArrayList<>();
                for (int i = 0; i < answers; i++) {
                    String target = i % 2 == 0 ? "/fixed" : "/chunked";
                    BlockingSink sink = new BlockingSink(allAtTheClient);
                    sinks.add(sink);
                    runs.add(ex.submit(() -> {
                        Lease lease = worker.acquire();
                        UpstreamResponse up = client.send("w", "GET", w.url(), target, h -> { }, null, null);
                        ProxyRequest req = new ProxyRequest(Method.GET, target, "", WritableHeaders.create(), null,
                                RequestFacts.NONE, RequestId.of("r"), "fallback", false);
                        relay.relay(req, sink, worker, lease, up, 0, Long.MAX_VALUE, null);
                        return null;
                    }));
                }
                for (Future<?> f : runs) {
                    f.get(30, TimeUnit.SECONDS);
                }
            }
            assertThat(budget.highWater()).as("bytes buffered at once").isLessThanOrEqualTo(budget.capacity())
                    .as("some answers were buffered").isGreaterThanOrEqualTo(MIB);
            assertThat(budget.reserved()).as("all given back").isZero();
            for (BlockingSink s : sinks) {
                assertThat(s.body.size()).isEqualTo(MIB);
                assertThat(s.body.toByteArray()[MIB - 1]).isEqualTo((byte) 'z');
            }
            assertThat(worker.inFlight()).isZero();
        }
    }

    /** A client that takes the answer only once every relay of the test reached its own client. */
    private static final class BlockingSink implements ClientSink {
        final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private final CountDownLatch all;
        private boolean arrived;

        BlockingSink(CountDownLatch all) {
            this.all = all;
        }

        private void arrive() {
            if (!arrived) {
                arrived = true;
                all.countDown();
                try {
                    assertThat(all.await(20, TimeUnit.SECONDS)).as("all relays at their client at once").isTrue();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
        }

        @Override
        public void status(int status) {
        }

        @Override
        public void header(String name, String value) {
        }

        @Override
        public void send(byte[] bytes) {
            arrive();
            body.writeBytes(bytes);
        }

        @Override
        public OutputStream stream() {
            return new OutputStream() {
                @Override
                public void write(int b) {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    arrive();
                    body.write(b, off, len);
                }
            };
        }

        @Override
        public boolean committed() {
            return arrived;
        }
    }
}
