package dev.vllmrouter.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.testing.PinningDetector;

/**
 * The pinning detector sees a pinned virtual thread: one that blocks in a class initialiser, which pins its carrier on
 * every JDK (monitors pin only up to JDK 23). A class of the router's packages, so that it counts as the router's.
 */
class PinningDetectorTest {
    /** Blocks for 60 ms while it is initialised. */
    static final class SlowInit {
        static final long AT;

        static {
            try {
                Thread.sleep(60);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            AT = System.nanoTime();
        }

        private SlowInit() {
        }
    }

    @Test
    void aVirtualThreadBlockedInAClassInitialiserIsReported() throws Exception {
        assumeThat(PinningDetector.active()).as("JFR records in this JVM").isTrue();
        Thread t = Thread.ofVirtual().start(() -> assertThat(SlowInit.AT).isPositive());
        t.join();
        String report = PinningDetector.take(r -> r.contains("PinningDetectorTest$SlowInit"), Duration.ofSeconds(20));
        assertThat(report).as("the detector's report of the pinned thread").isNotNull().contains("pinned for");
    }
}
