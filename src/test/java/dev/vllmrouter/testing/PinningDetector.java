package dev.vllmrouter.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Predicate;

import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails the test run when a virtual thread of the router (or of Helidon's server under it) stayed pinned to its carrier
 * for {@value #THRESHOLD_MILLIS} ms or more: JFR's {@code jdk.VirtualThreadPinned} events, recorded for the whole test
 * JVM by one {@link RecordingStream}, as Helidon's own test support detects pinning. On JDK 21 a virtual thread that
 * parks inside {@code synchronized} (or waits to enter one) pins its carrier; on 24 and later monitors no longer pin,
 * but native frames and class initialisation still can.
 * <p>Registered for every test class (src/test/resources/META-INF/services, autodetection on in
 * junit-platform.properties). JFR delivers events about once a second, so an event is reported by the first class
 * whose {@code afterAll} runs after its delivery: the class that pinned, or one shortly after it. Pinning whose stack
 * has no frame of the router's code is not the router's and is ignored: the JDK's own, a test's client, and Helidon
 * serving a simulated worker in the test's JVM (a 45 ms pin in a sim's connection read failed ReplicasIT once). Every
 * connection the router serves runs through its {@code ClientProtocol}, so its Helidon frames come with the router's.
 */
public final class PinningDetector implements BeforeAllCallback, AfterAllCallback {
    static final long THRESHOLD_MILLIS = 20;
    private static final Queue<String> REPORTED = new ConcurrentLinkedQueue<>();
    private static RecordingStream stream;

    @Override
    public void beforeAll(ExtensionContext context) {
        start();
    }

    private static synchronized void start() {
        if (stream != null) {
            return;
        }
        try {
            RecordingStream s = new RecordingStream();
            s.enable("jdk.VirtualThreadPinned").withThreshold(Duration.ofMillis(THRESHOLD_MILLIS)).withStackTrace();
            s.onEvent("jdk.VirtualThreadPinned", PinningDetector::record);
            s.startAsync();
            stream = s;
        } catch (RuntimeException | Error e) {
            // JFR unavailable in this JVM: nothing to detect with
            stream = null;
        }
    }

    private static void record(RecordedEvent event) {
        if (event.getStackTrace() == null) {
            return;
        }
        boolean ours = false;
        StringBuilder sb = new StringBuilder("pinned for ").append(event.getDuration().toMillis()).append(" ms:");
        for (RecordedFrame f : event.getStackTrace().getFrames()) {
            String type = f.getMethod().getType().getName();
            ours |= type.startsWith("dev.vllmrouter.") && !type.startsWith("dev.vllmrouter.testing.")
                    && !type.startsWith("dev.vllmrouter.sim.");
            sb.append("\n    at ").append(type).append('.').append(f.getMethod().getName()).append(':')
                    .append(f.getLineNumber());
        }
        if (ours) {
            REPORTED.add(sb.toString());
        }
    }

    /** Whether JFR records in this JVM (the detector is on). */
    public static boolean active() {
        start();
        return stream != null;
    }

    /**
     * Waits up to {@code limit} for a reported pinning that {@code matches}, takes it off the report and returns it,
     * or {@code null} (the detector's own test: a pinning it must see).
     */
    public static String take(Predicate<String> matches, Duration limit) {
        String[] found = new String[1];
        try {
            org.awaitility.Awaitility.await().atMost(limit).pollInterval(Duration.ofMillis(20)).until(() -> {
                for (String r : REPORTED) {
                    if (matches.test(r) && REPORTED.remove(r)) {
                        found[0] = r;
                        return true;
                    }
                }
                return false;
            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            return null;
        }
        return found[0];
    }

    @Override
    public void afterAll(ExtensionContext context) {
        List<String> fresh = new ArrayList<>();
        for (String r; (r = REPORTED.poll()) != null; ) {
            fresh.add(r);
        }
        if (!fresh.isEmpty()) {
            throw new AssertionError("a virtual thread on the router's request path was pinned to its carrier (during "
                    + context.getDisplayName() + " or a class shortly before it):\n" + String.join("\n", fresh));
        }
    }
}
