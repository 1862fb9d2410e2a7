package dev.vllmrouter.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.awaitility.Awaitility.await;

/**
 * The router as its own operating-system process ({@code java dev.vllmrouter.Main ARGS}, the test class path), with
 * an environment given in full — nothing inherited but {@code PATH} — as a container or a Kubernetes pod would give
 * it. Its stdout and stderr go together to a temporary file. Closing it kills the process.
 */
public final class RouterProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on https?://[^:]+:(\\d+) .*metrics on "
            + "https?://[^:]+:(\\d+)/metrics");

    private final Process process;
    private final Path log;

    private RouterProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** Starts {@code vllm-router ARGS} with exactly {@code env} (plus {@code PATH}). */
    public static RouterProcess start(Map<String, String> env, String... args) {
        return start(List.of(), List.of(), env, args);
    }

    /**
     * As {@link #start(Map, String...)}, under a limit of {@code descriptors} open files ({@code ulimit -n}, set by
     * {@code /bin/sh} before it becomes the JVM).
     */
    public static RouterProcess startWithDescriptorLimit(int descriptors, Map<String, String> env, String... args) {
        return start(List.of("/bin/sh", "-c", "ulimit -n " + descriptors + " && exec \"$@\"", "sh"), List.of(), env,
                args);
    }

    /** As {@link #start(Map, String...)}, with {@code jvmOptions} (e.g. a small {@code -Xmx}) before the others. */
    public static RouterProcess startWithJvmOptions(List<String> jvmOptions, Map<String, String> env,
                                                    String... args) {
        return start(List.of(), jvmOptions, env, args);
    }

    private static RouterProcess start(List<String> prefix, List<String> jvmOptions, Map<String, String> env,
                                       String... args) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Xshare:auto");
        if (Runtime.version().feature() >= 24) {
            cmd.add("--sun-misc-unsafe-memory-access=allow");
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.vllmrouter.Main");
        cmd.addAll(List.of(args));
        Path log;
        try {
            log = Files.createTempFile("vllm-router-process", ".log");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // a file, not a pipe: a pipe read by another thread loses what the process wrote last when it exits
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        String path = pb.environment().get("PATH");
        pb.environment().clear();
        if (path != null) {
            pb.environment().put("PATH", path);
        }
        pb.environment().putAll(env);
        try {
            return new RouterProcess(pb.start(), log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until the router logs its listeners; returns the main port. */
    public int awaitListening() {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> LISTENING.matcher(output()).find() || !process.isAlive());
        Matcher m = LISTENING.matcher(output());
        if (!m.find()) {
            throw new AssertionError("the router did not start; output:\n" + output());
        }
        return Integer.parseInt(m.group(1));
    }

    /** The metrics port, once {@link #awaitListening()} returned. */
    public int metricsPort() {
        Matcher m = LISTENING.matcher(output());
        if (!m.find()) {
            throw new AssertionError("the router has not logged its listeners; output:\n" + output());
        }
        return Integer.parseInt(m.group(2));
    }

    /** Waits for the process to end (bounded, so that a hang fails the test) and returns its exit status. */
    public int awaitExit() throws InterruptedException {
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            throw new AssertionError("the router process did not exit; output:\n" + output());
        }
        return process.exitValue();
    }

    /** SIGTERM, as {@code docker stop} and Kubernetes send. */
    public void terminate() {
        process.destroy();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** What the process printed so far (stdout and stderr). */
    public String output() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
            Files.deleteIfExists(log);
        } catch (IOException | InterruptedException e) {
            // a temporary file left behind
        }
    }
}
