package dev.vllmrouter.upstream;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class ReadWatchdogTest {
    private final AtomicLong now = new AtomicLong(1_000);
    private final ReadWatchdog watchdog = new ReadWatchdog(now::get, ReadWatchdog.DEFAULT_TICK, false);

    private Connection open(ServerSocket server) throws IOException {
        return Connection.open(Origin.parse("http://127.0.0.1:" + server.getLocalPort()), Duration.ofSeconds(5),
                watchdog);
    }

    @Test
    void aReadPastItsDeadlineFailsAsATimeoutAndOneInTimeIsLeftAlone() throws Exception {
        try (ServerSocket server = new ServerSocket(0)) {
            Connection c = open(server);
            try (Socket worker = server.accept()) { // a worker that reads the request and never answers
                assertThat(watchdog.watched()).isEqualTo(1);
                c.send("GET / HTTP/1.1\r\nHost: w\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), null,
                        Duration.ofSeconds(10));
                CompletableFuture<Throwable> read = CompletableFuture.supplyAsync(() -> {
                    try {
                        c.readLine(100);
                        return null;
                    } catch (IOException e) {
                        return e;
                    }
                }, command -> Thread.ofVirtual().start(command));
                await().until(c::reading);

                now.addAndGet(Duration.ofSeconds(9).toNanos());
                watchdog.sweep();
                assertThat(c.isClosed()).as("not yet due").isFalse();
                assertThat(read).isNotDone();

                now.addAndGet(Duration.ofSeconds(1).toNanos());
                watchdog.sweep();
                assertThat(read.get()).isInstanceOf(SocketTimeoutException.class)
                        .hasMessageContaining("10000 ms");
                assertThat(watchdog.watched()).as("a closed connection is forgotten").isZero();
            }
        }
    }

    @Test
    void aResponsePastItsTotalDeadlineIsClosedEvenWhileDataFlows() throws Exception {
        try (ServerSocket server = new ServerSocket(0)) {
            Connection c = open(server);
            try (Socket worker = server.accept()) {
                c.send("GET / HTTP/1.1\r\nHost: w\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), null,
                        Duration.ofSeconds(10));
                c.totalDeadline(now.get() + Duration.ofSeconds(30).toNanos());
                worker.getOutputStream().write("data: 1\n".getBytes(StandardCharsets.ISO_8859_1));
                assertThat(c.readLine(100)).isEqualTo("data: 1");
                now.addAndGet(Duration.ofSeconds(29).toNanos());
                watchdog.sweep();
                assertThat(c.isClosed()).isFalse();

                now.addAndGet(Duration.ofSeconds(1).toNanos()); // no read in progress, but the total is up
                watchdog.sweep();
                assertThat(c.isClosed()).isTrue();
                assertThat(c.totalExpired()).isTrue();
                assertThat(c.clearTotalDeadline()).as("claimed by the watchdog: never back to the pool").isFalse();
            }
        }
    }

    @Test
    void aLiftedTotalDeadlineNoLongerApplies() throws Exception {
        try (ServerSocket server = new ServerSocket(0)) {
            Connection c = open(server);
            try (Socket worker = server.accept()) {
                c.totalDeadline(now.get() + 1);
                assertThat(c.clearTotalDeadline()).as("the stream ended first: poolable").isTrue();
                now.addAndGet(Duration.ofHours(1).toNanos());
                watchdog.sweep();
                assertThat(c.isClosed()).isFalse();
            } finally {
                c.close();
            }
        }
    }

    @Test
    void aWorkerThatStopsReadingTheRequestTimesOutToo() throws Exception {
        try (ServerSocket server = new ServerSocket(0)) {
            Connection c = open(server);
            try (Socket worker = server.accept()) { // accepts, never reads
                byte[] big = new byte[64 * 1024 * 1024]; // far more than the socket buffers hold
                CompletableFuture<Throwable> write = CompletableFuture.supplyAsync(() -> {
                    try {
                        c.send("POST / HTTP/1.1\r\nHost: w\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), big,
                                Duration.ofSeconds(10));
                        return null;
                    } catch (IOException e) {
                        return e;
                    }
                }, command -> Thread.ofVirtual().start(command));
                await().until(c::reading);
                now.addAndGet(Duration.ofSeconds(10).toNanos());
                watchdog.sweep();
                assertThat(write.get()).isInstanceOf(SocketTimeoutException.class).hasMessageStartingWith("Write");
            }
        }
    }

    @Test
    void aConnectionBetweenReadsIsNeverExpired() throws Exception {
        try (ServerSocket server = new ServerSocket(0)) {
            Connection c = open(server);
            try (Socket worker = server.accept()) {
                c.send("GET / HTTP/1.1\r\nHost: w\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), null,
                        Duration.ofMillis(1));
                worker.getOutputStream().write("HTTP/1.1 200 OK\r\n".getBytes(StandardCharsets.ISO_8859_1));
                assertThat(c.readLine(100)).isEqualTo("HTTP/1.1 200 OK");
                now.addAndGet(Duration.ofHours(1).toNanos()); // idle for long: no read, no deadline
                watchdog.sweep();
                assertThat(c.isClosed()).isFalse();
            } finally {
                c.close();
            }
        }
    }
}
