package dev.vllmrouter.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Many concurrent streams (issue 15 item 3): {@code streams} client connections are opened first (ramped, so the
 * listener's backlog never overflows), then every connection sends its streamed {@code /v1/completions} at once, so
 * all streams are open together: the worker's time to first token is set long enough for all of them to arrive before
 * the first token. Each virtual thread reads its stream from a plain socket and records the gap between consecutive
 * SSE events as they arrive. Runs against {@code target} (host:port), optionally sampling the RSS of {@code pid}.
 * <p>Prints one line of figures (streams, completed, failed, events, gap p50/p99/max in ms, peak RSS in MiB, wall s).
 * <p>Arguments (name=value): target, streams (1000), tokens (15), pid (none), ramp_per_s (2000), spread_ms (0: every
 * request at once; else spread evenly over that many ms, one token interval, as unsynchronised clients would be).
 */
public final class StreamsBench {
    private StreamsBench() {
    }

    public static void main(String[] argv) throws Exception {
        java.util.Map<String, String> a = new java.util.HashMap<>();
        for (String arg : argv) {
            int eq = arg.indexOf('=');
            a.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        String[] target = a.get("target").split(":");
        String host = target[0];
        int port = Integer.parseInt(target[1]);
        int streams = Integer.parseInt(a.getOrDefault("streams", "1000"));
        int tokens = Integer.parseInt(a.getOrDefault("tokens", "15"));
        int rampPerSecond = Integer.parseInt(a.getOrDefault("ramp_per_s", "2000"));
        int spreadMs = Integer.parseInt(a.getOrDefault("spread_ms", "0"));
        String pid = a.get("pid");

        byte[] request = ("POST /v1/completions HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: %d\r\n\r\n%s").formatted(body(tokens).length, new String(body(tokens),
                StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
        List<Socket> sockets = new ArrayList<>(streams);
        long rampNanos = TimeUnit.SECONDS.toNanos(1) / Math.max(1, rampPerSecond);
        long start = System.nanoTime();
        for (int i = 0; i < streams; i++) {
            Socket s = new Socket();
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), 10_000);
            sockets.add(s);
            long due = start + (i + 1) * rampNanos;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
        }
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger completed = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicLong events = new AtomicLong();
        int[] gapsMicros = new int[streams * (tokens + 2)];
        AtomicInteger gapCount = new AtomicInteger();
        AtomicLong peakRss = new AtomicLong(rssKib(pid));
        Thread sampler = Thread.ofPlatform().daemon().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peakRss.accumulateAndGet(rssKib(pid), Math::max);
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        long began;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < sockets.size(); i++) {
                Socket s = sockets.get(i);
                // requests spread evenly over spread_ms, so the worker's tokens do not all fall on the same instants
                long offsetNanos = spreadMs == 0 ? 0 : TimeUnit.MILLISECONDS.toNanos(spreadMs) * i / sockets.size();
                pool.submit(() -> {
                    try (s) {
                        go.await();
                        if (offsetNanos > 0) {
                            TimeUnit.NANOSECONDS.sleep(offsetNanos);
                        }
                        OutputStream out = s.getOutputStream();
                        out.write(request);
                        out.flush();
                        if (readStream(s.getInputStream(), events, gapsMicros, gapCount)) {
                            completed.incrementAndGet();
                        } else {
                            failed.incrementAndGet();
                        }
                    } catch (IOException | InterruptedException e) {
                        failed.incrementAndGet();
                    }
                    return null;
                });
            }
            began = System.nanoTime();
            go.countDown();
        }
        double wall = (System.nanoTime() - began) / 1e9;
        sampler.interrupt();
        int n = Math.min(gapCount.get(), gapsMicros.length);
        int[] gaps = Arrays.copyOf(gapsMicros, n);
        Arrays.sort(gaps);
        System.out.printf(Locale.ROOT, "streams=%d completed=%d failed=%d events=%d gap_p50_ms=%.1f gap_p99_ms=%.1f "
                        + "gap_max_ms=%.1f peak_rss_mib=%d wall_s=%.1f%n", streams, completed.get(), failed.get(),
                events.get(), pct(gaps, 0.5), pct(gaps, 0.99), n == 0 ? 0 : gaps[n - 1] / 1000.0,
                peakRss.get() / 1024, wall);
    }

    private static byte[] body(int tokens) {
        return ("{\"model\":\"demo\",\"prompt\":\"ten thousand streams at once\",\"stream\":true,\"max_tokens\":"
                + tokens + "}").getBytes(StandardCharsets.UTF_8);
    }

    private static double pct(int[] sorted, double q) {
        return sorted.length == 0 ? 0 : sorted[Math.max(0, (int) Math.ceil(q * sorted.length) - 1)] / 1000.0;
    }

    /**
     * Reads one chunked SSE answer to its end; records the gap between consecutive events (from the first event on).
     * Whether it ended with {@code [DONE]} and a 200.
     */
    private static boolean readStream(InputStream in, AtomicLong events, int[] gaps, AtomicInteger gapCount)
            throws IOException {
        byte[] buf = new byte[4096];
        StringBuilder text = new StringBuilder();
        long last = -1;
        boolean ok = false;
        boolean done = false;
        int scanned = 0;
        while (!done) {
            int r = in.read(buf);
            if (r < 0) {
                break;
            }
            long now = System.nanoTime();
            text.append(new String(buf, 0, r, StandardCharsets.ISO_8859_1));
            if (!ok && text.indexOf("\r\n") > 0) {
                ok = text.indexOf("HTTP/1.1 200") == 0;
            }
            int at;
            while ((at = text.indexOf("data: ", scanned)) >= 0) {
                int end = text.indexOf("\n\n", at);
                if (end < 0) {
                    break;
                }
                events.incrementAndGet();
                if (last >= 0) {
                    int i = gapCount.getAndIncrement();
                    if (i < gaps.length) {
                        gaps[i] = (int) ((now - last) / 1000);
                    }
                }
                last = now;
                done |= text.indexOf("data: [DONE]", at) == at;
                scanned = end + 2;
            }
        }
        return ok && done;
    }

    private static long rssKib(String pid) {
        if (pid == null) {
            return 0;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }
}
