package dev.vllmrouter.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.upstream.UpstreamClient;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;

/** The monitor's loop against real sockets: a server that hangs never holds back the other servers' samples. */
class WorkerMonitorTest {
    @Test
    void aHangingServerIsSkippedWhileTheOthersKeepBeingSampled() throws Exception {
        AtomicInteger scrapes = new AtomicInteger();
        HttpServer good = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        good.createContext("/", exchange -> {
            byte[] body = exchange.getRequestURI().getPath().equals("/metrics")
                    ? ("vllm:num_requests_running{engine=\"0\"} " + (7 + scrapes.incrementAndGet() % 2)
                    + "\nvllm:num_requests_waiting{engine=\"0\"} 0\n").getBytes(StandardCharsets.UTF_8)
                    : ("{\"data\":[{\"id\":\"m\",\"parent\":null},"
                    + "{\"id\":\"sql-lora\",\"parent\":\"m\",\"root\":\"/adapters/sql\"}]}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        good.start();
        List<Socket> held = new CopyOnWriteArrayList<>();
        AtomicInteger hungCalls = new AtomicInteger();
        try (ServerSocket hanging = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                while (!hanging.isClosed()) {
                    try {
                        held.add(hanging.accept()); // read nothing, answer nothing
                        hungCalls.incrementAndGet();
                    } catch (IOException closed) {
                        return;
                    }
                }
            });
            WorkerRegistry registry = new WorkerRegistry(1);
            registry.add(WorkerUrl.parse("http://127.0.0.1:" + good.getAddress().getPort()), Set.of("m"));
            registry.add(WorkerUrl.parse("http://127.0.0.1:" + hanging.getLocalPort()), Set.of("m"));
            Worker sampled = registry.snapshot().workers().get(0);
            UpstreamClient client = new UpstreamClient(Duration.ofSeconds(2), Duration.ofSeconds(30));
            dev.vllmrouter.worker.ModelAdapters adapters = new dev.vllmrouter.worker.ModelAdapters();
            try (WorkerMonitor monitor = new WorkerMonitor(registry, client, Ticker.system(),
                    Duration.ofMillis(20), true, null, adapters)) {
                monitor.start(); // the first round waits up to the call limit (2 s): the hanging server is still busy
                int before = scrapes.get();
                int hungBefore = hungCalls.get();
                await().atMost(Duration.ofSeconds(30)).until(() -> scrapes.get() >= before + 5);
                // five rounds went by on the good server while the hanging one got at most one more set of calls
                // (/metrics, /load, /v1/models, each ended by the 2 s limit): a round that waited for it would have
                // called it at least once per round
                assertThat(hungCalls.get() - hungBefore).isLessThanOrEqualTo(3);
                assertThat(sampled.externalLoad()).isBetween(7, 8);
                // its /v1/models lists a LoRA adapter of "m": requests for it use m's tokenizer, keyed by its name
                assertThat(adapters.parentOf("sql-lora")).isEqualTo("m");
                assertThat(adapters.parentOf("m")).isNull();
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
        } finally {
            good.stop(0);
        }
    }
}
