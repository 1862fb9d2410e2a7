package dev.vllmrouter.discovery.k8s;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.ClientBuilder;

/**
 * A stand-in for the Kubernetes API server's pod endpoints, enough to drive discovery through every case: list
 * ({@code GET /api/v1/namespaces/{ns}/pods}, {@code GET /api/v1/pods}) with labelSelector, limit/continue and a
 * resourceVersion; and watch ({@code ?watch=true}) as newline-delimited JSON events, replayed from a history after the
 * requested resourceVersion and then streamed live, with the server-side selector semantics (a pod relabelled out of
 * the selector arrives as DELETED, relabelled in as ADDED).
 * <p>Tests drive it: change pods, drop every open watch, compact the history (a watch from before it gets 410, as an
 * ERROR event or as an HTTP status), answer the next requests with an error, send a BOOKMARK. Every request is
 * recorded with its decoded query.
 */
final class FakeKubeApi implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    record Request(String path, Map<String, String> query) {
        boolean isWatch() {
            return "true".equals(query.get("watch"));
        }
    }

    private record Event(long version, String type, FakePod pod, FakePod before, boolean unfiltered) {
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, FakePod> pods = new LinkedHashMap<>(); // guarded by lock
    private final Map<String, Long> podVersions = new HashMap<>(); // guarded by lock
    private final List<Event> history = new ArrayList<>(); // guarded by lock
    private final Deque<Integer> failures = new ArrayDeque<>(); // guarded by lock
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger delivered = new AtomicInteger(); // watch events written and flushed
    private long version = 100; // guarded by lock
    private long compactedBefore; // a watch from a version below this is too old; guarded by lock
    private int generation; // bumped to end every open watch; guarded by lock
    private int openWatches; // guarded by lock
    private boolean goneAsHttpStatus; // guarded by lock
    private volatile boolean stopped;

    FakeKubeApi() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    /** A client for this server, as {@code Config.defaultClient()} would build one for a real cluster. */
    ApiClient client() throws IOException {
        return ClientBuilder.standard(false).setBasePath("http://127.0.0.1:" + server.getAddress().getPort())
                .build();
    }

    // ---- what tests do to the cluster

    /** Creates or replaces the pod with {@code pod.uid()} (ADDED or MODIFIED). */
    void put(FakePod pod) {
        locked(() -> record(pods.containsKey(pod.uid()) ? "MODIFIED" : "ADDED", pod, false));
    }

    /** Replaces the pod and sends MODIFIED to every watch, whatever its selector (a server that does not filter). */
    void putUnfiltered(FakePod pod) {
        locked(() -> record("MODIFIED", pod, true));
    }

    void delete(String uid) {
        locked(() -> {
            FakePod gone = pods.get(uid);
            record("DELETED", gone, false);
        });
    }

    /** A BOOKMARK: the cluster moved on (other objects changed) and watches learn the new version. */
    void bookmark() {
        locked(() -> {
            version++;
            history.add(new Event(version, "BOOKMARK", null, null, false));
        });
    }

    /** Ends every open watch, as an API server restart or a load balancer's idle timeout does. */
    void dropWatches() {
        locked(() -> generation++);
    }

    /**
     * Applies {@code changes}, then forgets the history up to now: open watches end with 410, and so does any watch
     * from an older version, so the changes can be learnt only by listing again.
     */
    void compact(Runnable changes) {
        locked(() -> {
            changes.run();
            compactedBefore = version;
            generation++;
        });
    }

    /** Whether 410 is answered as an HTTP status (else, as real servers do, as a 200 with one ERROR event). */
    void goneAsHttpStatus(boolean asStatus) {
        locked(() -> goneAsHttpStatus = asStatus);
    }

    /** The next {@code count} requests are answered with {@code status}. */
    void failNext(int status, int count) {
        locked(() -> {
            for (int i = 0; i < count; i++) {
                failures.add(status);
            }
        });
    }

    long version() {
        lock.lock();
        try {
            return version;
        } finally {
            lock.unlock();
        }
    }

    int openWatches() {
        lock.lock();
        try {
            return openWatches;
        } finally {
            lock.unlock();
        }
    }

    /** Watch events written to clients so far (all watches). */
    int delivered() {
        return delivered.get();
    }

    List<Request> requests() {
        return List.copyOf(requests);
    }

    List<Request> lists() {
        return requests.stream().filter(r -> !r.isWatch()).toList();
    }

    List<Request> watches() {
        return requests.stream().filter(Request::isWatch).toList();
    }

    @Override
    public void close() {
        stopped = true;
        locked(() -> generation++);
        server.stop(0);
        executor.shutdownNow();
    }

    private void record(String type, FakePod pod, boolean unfiltered) {
        version++;
        FakePod before = pods.get(pod.uid());
        if (type.equals("DELETED")) {
            pods.remove(pod.uid());
            podVersions.remove(pod.uid());
        } else {
            pods.put(pod.uid(), pod);
            podVersions.put(pod.uid(), version);
        }
        history.add(new Event(version, type, pod, before, unfiltered));
    }

    private void locked(Runnable r) {
        lock.lock();
        try {
            r.run();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // ---- the HTTP side

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
            String path = exchange.getRequestURI().getPath();
            requests.add(new Request(path, query));
            String namespace;
            if (path.equals("/api/v1/pods")) {
                namespace = null;
            } else if (path.matches("/api/v1/namespaces/[^/]+/pods")) {
                namespace = path.split("/")[4];
            } else {
                status(exchange, 404, "NotFound", "no route " + path);
                return;
            }
            Map<String, String> selector = selector(query.get("labelSelector"));
            if (selector == null) {
                status(exchange, 400, "BadRequest", "unable to parse requirement: " + query.get("labelSelector"));
                return;
            }
            Integer failure = next(failures);
            if (failure != null) {
                status(exchange, failure, "InternalError", "injected failure " + failure);
                return;
            }
            if ("true".equals(query.get("watch"))) {
                watch(exchange, namespace, selector, query);
            } else {
                list(exchange, namespace, selector, query);
            }
        }
    }

    private Integer next(Deque<Integer> queue) {
        lock.lock();
        try {
            return queue.poll();
        } finally {
            lock.unlock();
        }
    }

    private void list(HttpExchange exchange, String namespace, Map<String, String> selector,
                      Map<String, String> query) throws IOException {
        ObjectNode list = JSON.createObjectNode().put("kind", "PodList").put("apiVersion", "v1");
        lock.lock();
        try {
            List<FakePod> matching = pods.values().stream()
                    .filter(p -> namespace == null || namespace.equals(p.namespace()))
                    .filter(p -> matches(selector, p)).sorted(Comparator.comparing(FakePod::uid)).toList();
            // a continue token is "version:offset": every page belongs to the first page's snapshot version
            String token = query.get("continue");
            long listVersion = token == null ? version : Long.parseLong(token.split(":")[0]);
            int from = token == null ? 0 : Integer.parseInt(token.split(":")[1]);
            int limit = query.containsKey("limit") ? Integer.parseInt(query.get("limit")) : Integer.MAX_VALUE;
            int to = (int) Math.min(matching.size(), (long) from + limit);
            ObjectNode meta = list.putObject("metadata").put("resourceVersion", Long.toString(listVersion));
            if (to < matching.size()) {
                meta.put("continue", listVersion + ":" + to);
            }
            ArrayNode items = list.putArray("items");
            for (FakePod p : matching.subList(from, to)) {
                ObjectNode item = p.toJson(podVersions.get(p.uid()));
                item.remove("kind"); // as in a real list
                item.remove("apiVersion");
                items.add(item);
            }
        } finally {
            lock.unlock();
        }
        byte[] body = JSON.writeValueAsBytes(list);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
    }

    private void watch(HttpExchange exchange, String namespace, Map<String, String> selector,
                       Map<String, String> query) throws IOException {
        long cursor = Long.parseLong(query.getOrDefault("resourceVersion", "0"));
        boolean bookmarks = "true".equals(query.get("allowWatchBookmarks"));
        lock.lock();
        int myGeneration = generation;
        boolean tooOld = cursor < compactedBefore;
        boolean asStatus = goneAsHttpStatus;
        openWatches++;
        lock.unlock();
        try {
            if (tooOld && asStatus) {
                status(exchange, 410, "Expired", "too old resource version: " + cursor);
                return;
            }
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, 0); // chunked: one line per event
            OutputStream out = exchange.getResponseBody();
            if (tooOld) {
                gone(out, cursor);
                return;
            }
            while (!stopped) {
                List<String> lines = new ArrayList<>();
                boolean ended = false;
                lock.lock();
                try {
                    while (!stopped && generation == myGeneration && version <= cursor) {
                        changed.await(1, TimeUnit.SECONDS);
                    }
                    if (generation != myGeneration || stopped) {
                        ended = true;
                        tooOld = cursor < compactedBefore;
                    } else {
                        for (Event e : history) {
                            if (e.version() > cursor) {
                                String line = line(e, namespace, selector, bookmarks);
                                if (line != null) {
                                    lines.add(line);
                                }
                                cursor = e.version();
                            }
                        }
                    }
                } catch (InterruptedException e) {
                    return;
                } finally {
                    lock.unlock();
                }
                if (ended) {
                    if (tooOld) {
                        gone(out, cursor);
                    }
                    return;
                }
                for (String line : lines) {
                    out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                }
                out.flush();
                delivered.addAndGet(lines.size());
            }
        } finally {
            lock.lock();
            openWatches--;
            lock.unlock();
        }
    }

    /** The event as this watch sees it, or {@code null} when it does not see it at all. */
    private String line(Event e, String namespace, Map<String, String> selector, boolean bookmarks) {
        ObjectNode event = JSON.createObjectNode();
        if (e.type().equals("BOOKMARK")) {
            if (!bookmarks) {
                return null;
            }
            event.put("type", "BOOKMARK").putObject("object").put("kind", "Pod").put("apiVersion", "v1")
                    .putObject("metadata").put("resourceVersion", Long.toString(e.version()));
            return event.toString();
        }
        if (namespace != null && !namespace.equals(e.pod().namespace())) {
            return null;
        }
        boolean now = matches(selector, e.pod());
        boolean before = e.before() != null && matches(selector, e.before());
        String type = e.unfiltered() ? e.type() : switch (e.type()) {
            case "ADDED" -> now ? "ADDED" : null;
            case "MODIFIED" -> now ? (before ? "MODIFIED" : "ADDED") : (before ? "DELETED" : null);
            default -> before ? "DELETED" : null;
        };
        if (type == null) {
            return null;
        }
        event.put("type", type).set("object", e.pod().toJson(e.version()));
        return event.toString();
    }

    private void gone(OutputStream out, long cursor) throws IOException {
        ObjectNode status = JSON.createObjectNode().put("kind", "Status").put("apiVersion", "v1")
                .put("status", "Failure").put("message", "too old resource version: " + cursor)
                .put("reason", "Expired").put("code", 410);
        ObjectNode event = JSON.createObjectNode().put("type", "ERROR").set("object", status);
        out.write((event + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void status(HttpExchange exchange, int code, String reason, String message) throws IOException {
        byte[] body = JSON.writeValueAsBytes(JSON.createObjectNode().put("kind", "Status").put("apiVersion", "v1")
                .put("status", "Failure").put("message", message).put("reason", reason).put("code", code));
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(code, body.length);
        exchange.getResponseBody().write(body);
    }

    private static boolean matches(Map<String, String> selector, FakePod pod) {
        return selector.entrySet().stream().allMatch(e -> e.getValue().equals(pod.labels().get(e.getKey())));
    }

    /** Equality requirements only ({@code k=v} or {@code k==v}); {@code null} when unparseable. */
    private static Map<String, String> selector(String text) {
        Map<String, String> selector = new HashMap<>();
        if (text == null || text.isEmpty()) {
            return selector;
        }
        for (String requirement : text.split(",")) {
            String[] kv = requirement.split("==?", 2);
            if (kv.length != 2 || kv[0].isEmpty()) {
                return null;
            }
            selector.put(kv[0], kv[1]);
        }
        return selector;
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> query = new LinkedHashMap<>();
        if (raw != null) {
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                query.put(key, eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return query;
    }
}
