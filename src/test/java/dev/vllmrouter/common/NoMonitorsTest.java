package dev.vllmrouter.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The router's code holds no Java monitors ({@code synchronized}, {@code Object.wait/notify}): on JDK 21, the oldest
 * JDK it supports, a virtual thread that parks inside a monitor, or waits to enter one, pins its carrier thread, and
 * every request runs on a virtual thread. Locks from {@code java.util.concurrent} do not pin. (The test run also
 * watches for pinning as it happens: {@code testing.PinningDetector}.)
 */
class NoMonitorsTest {
    private static final Pattern MONITOR = Pattern.compile("\\bsynchronized\\b|\\.wait\\(|\\.notify(All)?\\(\\)");

    @Test
    void noSourceFileUsesAMonitor() throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of("src", "main", "java"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++) {
                    String line = lines.get(i).strip();
                    if (line.startsWith("*") || line.startsWith("//") || line.startsWith("/*")) {
                        continue; // comments may name them
                    }
                    if (MONITOR.matcher(line).find()) {
                        found.add(f + ":" + (i + 1) + ": " + line);
                    }
                }
            }
        }
        assertThat(found).as("monitors in the router's code (use java.util.concurrent locks)").isEmpty();
    }
}
