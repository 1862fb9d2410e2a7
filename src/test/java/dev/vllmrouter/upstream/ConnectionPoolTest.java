package dev.vllmrouter.upstream;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ConnectionPoolTest {
    private final AtomicLong now = new AtomicLong();
    private final ConnectionPool pool = new ConnectionPool(now::get, Duration.ofSeconds(4).toNanos(), 8);
    private final ReadWatchdog watchdog = new ReadWatchdog(now::get, ReadWatchdog.DEFAULT_TICK, false);

    @Test
    void idleConnectionsOfAnOriginWithNoMoreTrafficAreClosedByTheSweep() throws Exception {
        try (ServerSocket gone = new ServerSocket(0); ServerSocket live = new ServerSocket(0)) {
            Origin goneOrigin = Origin.parse("http://127.0.0.1:" + gone.getLocalPort());
            Connection a = Connection.open(goneOrigin, Duration.ofSeconds(2), watchdog);
            Connection b = Connection.open(goneOrigin, Duration.ofSeconds(2), watchdog);
            pool.release(a);
            pool.release(b);
            now.addAndGet(Duration.ofSeconds(3).toNanos());
            Connection c = Connection.open(Origin.parse("http://127.0.0.1:" + live.getLocalPort()),
                    Duration.ofSeconds(2), watchdog);
            pool.release(c);
            pool.evictIdle();
            assertThat(pool.idleCount()).as("nothing aged out yet").isEqualTo(3);

            now.addAndGet(Duration.ofSeconds(1).toNanos()); // a and b are 4 s idle, c 1 s
            pool.evictIdle();
            assertThat(a.isClosed()).isTrue();
            assertThat(b.isClosed()).isTrue();
            assertThat(c.isClosed()).isFalse();
            assertThat(pool.idleCount()).isEqualTo(1);
            assertThat(watchdog.watched()).as("closed ones are no longer watched").isEqualTo(1);
            pool.closeAll();
        }
    }
}
