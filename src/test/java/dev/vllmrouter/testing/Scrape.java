package dev.vllmrouter.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One scrape of the router's Prometheus exporter, parsed: samples by their exact series text
 * ({@code name{label="v",...}}, labels in exposition order), and the declared family types. Parsing fails on any line
 * that is not valid text exposition, so a test that reads metrics also checks the format.
 */
public final class Scrape {
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\",?)*})? (\\S+)");
    private static final Pattern TYPE = Pattern.compile("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");

    private final Map<String, Double> samples = new LinkedHashMap<>();
    private final Map<String, String> types = new HashMap<>();
    private final String text;

    private Scrape(String text) {
        this.text = text;
        Set<String> seenTypes = new HashSet<>();
        for (String line : text.split("\n")) {
            if (line.isBlank() || line.startsWith("# HELP ")) {
                continue;
            }
            if (line.startsWith("#")) {
                Matcher t = TYPE.matcher(line);
                if (!t.matches()) {
                    throw new IllegalStateException("bad comment line: " + line);
                }
                if (!seenTypes.add(t.group(1))) {
                    throw new IllegalStateException("family declared twice: " + t.group(1));
                }
                types.put(t.group(1), t.group(2));
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                throw new IllegalStateException("bad sample line: " + line);
            }
            String series = m.group(1) + (m.group(2) == null ? "" : m.group(2));
            if (samples.put(series, Double.parseDouble(m.group(3))) != null) {
                throw new IllegalStateException("series twice: " + series);
            }
        }
    }

    public static Scrape of(String text) {
        return new Scrape(text);
    }

    /** Scrapes {@code http://127.0.0.1:<port>/metrics}. */
    public static Scrape from(int metricsPort) {
        try {
            HttpResponse<String> res = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            return new Scrape(res.body());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The value of one series, given as {@code name{l1="a",l2="b"}} in exposition order; 0 when absent. */
    public double value(String series) {
        return samples.getOrDefault(series, 0.0);
    }

    public boolean has(String series) {
        return samples.containsKey(series);
    }

    /** Sum over every series of {@code name} whose text contains all of {@code parts}. */
    public double sum(String name, String... parts) {
        double sum = 0;
        for (Map.Entry<String, Double> e : samples.entrySet()) {
            String s = e.getKey();
            if (!(s.equals(name) || s.startsWith(name + "{"))) {
                continue;
            }
            boolean all = true;
            for (String p : parts) {
                all &= s.contains(p);
            }
            if (all) {
                sum += e.getValue();
            }
        }
        return sum;
    }

    /** The declared type of family {@code name}, or {@code null}. */
    public String type(String name) {
        return types.get(name);
    }

    public Set<String> series() {
        return samples.keySet();
    }

    public String text() {
        return text;
    }
}
