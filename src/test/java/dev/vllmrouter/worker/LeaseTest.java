package dev.vllmrouter.worker;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.WorkerUrl;

import static org.assertj.core.api.Assertions.assertThat;

class LeaseTest {
    @Test
    void closeReleasesExactlyOnceEvenWhenRacing() throws Exception {
        Worker w = new Worker(WorkerUrl.parse("http://w:1"));
        for (int round = 0; round < 200; round++) {
            Lease lease = w.acquire();
            assertThat(w.inFlight()).isEqualTo(1);
            CountDownLatch go = new CountDownLatch(1);
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int t = 0; t < 8; t++) {
                    ex.submit(() -> {
                        go.await();
                        lease.close();
                        return null;
                    });
                }
                go.countDown();
            }
            assertThat(w.inFlight()).as("in-flight after 8 racing closes, round " + round).isZero();
        }
        assertThat(w.processed()).isEqualTo(200);
    }
}
