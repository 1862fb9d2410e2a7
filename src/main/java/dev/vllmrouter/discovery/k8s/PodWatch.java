package dev.vllmrouter.discovery.k8s;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import okhttp3.Call;
import okhttp3.OkHttpClient;
import okhttp3.Response;
import okhttp3.ResponseBody;

import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.WorkerSpec;

/**
 * Keeps the pods of one label selector that are workers of one role, by the Kubernetes list + watch protocol:
 * <ol>
 *   <li>list (paged) with the selector sent to the API server; the answer replaces the whole view and gives the
 *       resourceVersion to watch from;</li>
 *   <li>watch from that resourceVersion; every ADDED/MODIFIED/DELETED/BOOKMARK event advances it, so a dropped
 *       connection resumes where it stopped, without a relist and without missing or repeating a change. The
 *       server ends each watch after {@code timeoutSeconds}; one that carried events is resumed at once, one that
 *       carried none after the initial backoff (so a server that hangs up at once is not hammered);</li>
 *   <li>410 Gone (the version has left the server's history, as an HTTP status or as a watch ERROR event): relist
 *       at once, whatever failures came before; a second 410 in a row (no watch ended normally in between) backs
 *       off like a failure;</li>
 *   <li>any other failure (connection, timeout, 5xx, 403...): wait {@link ReconnectBackoff} (1 s doubling to 300 s),
 *       then resume from the last resourceVersion; the count of failures restarts at the next successful list or
 *       accepted watch, so the next outage starts again from 1 s.</li>
 * </ol>
 * Invariant: after each change the consumer gets the complete view ({@code uid -> worker}) this watch believes in;
 * a relist replaces it whole, so a pod deleted while the watch was down cannot linger. Pods are keyed by UID, and
 * every event re-derives the pod's worker from its current state ({@link PodMapper}), so no removal depends on the
 * pod looking as it did when it was added (the vllm-router defect). During failures the last view stays: an API
 * server outage does not empty the fleet.
 * <p>Why not client-java's informer: its reflector's backoff is not injectable and it decodes into the generated
 * models, which reject unknown fields (see {@link PodView}); the protocol itself is the few lines below.
 * <p>Thread-safety: {@link #run()} runs on one thread, which alone touches the view and the resourceVersion;
 * {@link #close()} may be called from any thread and cancels the request in flight.
 */
final class PodWatch implements Runnable {
    private static final System.Logger LOG = System.getLogger(PodWatch.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    /** How the watch waits between attempts; a seam so tests need not wait on the clock. */
    @FunctionalInterface
    interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    /**
     * @param backoff        waits after failures
     * @param watchTimeout   the {@code timeoutSeconds} asked of each watch (the server then ends it; we re-watch)
     * @param requestTimeout the whole-call limit of a list page, and the grace added to a watch's read timeout
     * @param pageSize       pods per list page ({@code limit})
     */
    record Tuning(ReconnectBackoff backoff, Duration watchTimeout, Duration requestTimeout, int pageSize) {
        static final Tuning DEFAULT = new Tuning(ReconnectBackoff.DEFAULT, Duration.ofMinutes(5),
                Duration.ofSeconds(30), 500);
    }

    /** A pod that is a worker now. @param pod {@code namespace/name}, for logs */
    record Discovered(String pod, WorkerSpec spec) {
    }

    /** The API server no longer has the resourceVersion we asked for. */
    static final class Gone extends IOException {
        Gone(String message) {
            super(message);
        }
    }

    private final String selector;
    private final String namespace;
    private final Role role;
    private final PodMapper mapper;
    private final CoreV1Api api;
    private final OkHttpClient listHttp;
    private final OkHttpClient watchHttp;
    private final Tuning tuning;
    private final Sleeper sleeper;
    private final DiscoveryListener listener;
    private final Consumer<Map<String, Discovered>> onView;
    private final Map<String, Discovered> view = new HashMap<>(); // uid -> worker; loop thread only
    private String resourceVersion; // null: list first; loop thread only
    private int failures; // consecutive failed requests, since the last successful list or watch; loop thread only
    private int gones; // consecutive 410s, since the last watch that ended normally; loop thread only
    private volatile Call inFlight;
    private volatile boolean closed;

    PodWatch(String selector, String namespace, Role role, PodMapper mapper, ApiClient client, Tuning tuning,
             Sleeper sleeper, DiscoveryListener listener, Consumer<Map<String, Discovered>> onView) {
        this.selector = selector;
        this.namespace = namespace;
        this.role = role;
        this.mapper = mapper;
        this.api = new CoreV1Api(client);
        this.tuning = tuning;
        this.sleeper = sleeper;
        this.listener = listener;
        this.onView = onView;
        // Derived clients share the caller's connection pool, TLS and auth interceptors; only the timeouts differ:
        // a list page must finish in requestTimeout, a watch may stay silent until the server ends it.
        OkHttpClient base = client.getHttpClient();
        this.listHttp = base.newBuilder().readTimeout(tuning.requestTimeout()).callTimeout(tuning.requestTimeout())
                .build();
        this.watchHttp = base.newBuilder().readTimeout(tuning.watchTimeout().plus(tuning.requestTimeout()))
                .callTimeout(Duration.ZERO).build();
    }

    String describe() {
        return role.label() + " pods {" + selector + "} in "
                + (namespace == null ? "all namespaces" : "namespace " + namespace);
    }

    @Override
    public void run() {
        while (!closed) {
            try {
                if (resourceVersion == null) {
                    list();
                }
                if (!watch()) {
                    // the server ended a watch that carried nothing: do not spin on a server that does it at once
                    pause(tuning.backoff().initial());
                }
            } catch (Gone e) {
                resourceVersion = null;
                gones++;
                if (gones > 1) {
                    retry(e, tuning.backoff().delay(gones - 1));
                } else {
                    LOG.log(Level.INFO, "kubernetes discovery: {0}: {1}; listing again", describe(), e.getMessage());
                }
            } catch (IOException | ApiException | RuntimeException e) {
                if (closed) {
                    return;
                }
                failures++;
                retry(e, tuning.backoff().delay(failures));
            }
        }
    }

    /** Stops the loop: no request is made after this returns, and the one in flight is cancelled. */
    void close() {
        closed = true;
        Call call = inFlight;
        if (call != null) {
            call.cancel();
        }
    }

    private void list() throws IOException, ApiException {
        Map<String, Discovered> fresh = new HashMap<>();
        String version = null;
        String page = null;
        do {
            JsonNode list;
            try (Response response = execute(listHttp, call(false, page))) {
                list = JSON.readTree(response.body().byteStream());
            }
            if (version == null) {
                version = PodView.resourceVersion(list);
            }
            for (JsonNode item : list.path("items")) {
                PodView pod = PodView.of(item);
                worker(pod).ifPresent(w -> fresh.put(pod.uid(), w));
            }
            String next = list.path("metadata").path("continue").asText("");
            page = next.isEmpty() ? null : next;
        } while (page != null && !closed);
        if (closed) {
            throw new IOException("closed while listing"); // a partial list must never replace the view
        }
        if (version == null || version.isEmpty()) {
            throw new IOException("pod list without metadata.resourceVersion");
        }
        view.clear();
        view.putAll(fresh);
        resourceVersion = version;
        failures = 0; // the server answers again: the next failure starts the backoff from the beginning
        LOG.log(Level.DEBUG, "kubernetes discovery: listed {0}: {1} workers at resourceVersion {2}",
                describe(), view.size(), version);
        onView.accept(Map.copyOf(view));
    }

    /** @return whether the watch carried any event before the server ended it */
    private boolean watch() throws IOException, ApiException {
        boolean any = false;
        try (Response response = execute(watchHttp, call(true, null));
             BufferedReader lines = new BufferedReader(
                     new InputStreamReader(response.body().byteStream(), StandardCharsets.UTF_8))) {
            failures = 0; // a watch was accepted (a 410 still counts in gones)
            String line;
            while ((line = lines.readLine()) != null) {
                if (!line.isBlank()) {
                    apply(JSON.readTree(line));
                    any = true;
                }
            }
        }
        gones = 0;
        return any;
    }

    private void apply(JsonNode event) throws IOException {
        String type = event.path("type").asText("");
        JsonNode object = event.path("object");
        boolean changed = switch (type) {
            case "ADDED", "MODIFIED" -> {
                PodView pod = PodView.of(object);
                Optional<Discovered> now = worker(pod);
                yield now.isPresent() ? !now.get().equals(view.put(pod.uid(), now.get()))
                        : view.remove(pod.uid()) != null;
            }
            // with a server-side selector this also means "relabelled out of the selector"
            case "DELETED" -> view.remove(PodView.of(object).uid()) != null;
            case "BOOKMARK" -> false;
            case "ERROR" -> {
                int code = object.path("code").asInt(0);
                String message = "watch error " + code + " " + object.path("reason").asText("") + ": "
                        + object.path("message").asText("");
                throw code == 410 ? new Gone(message) : new IOException(message);
            }
            default -> {
                LOG.log(Level.DEBUG, "kubernetes discovery: ignored a watch event of type {0}", type);
                yield false;
            }
        };
        String version = PodView.resourceVersion(object);
        if (version != null && !version.isEmpty()) {
            resourceVersion = version;
        }
        if (changed) {
            onView.accept(Map.copyOf(view));
        }
    }

    /** The pod as a worker of this watch's role; a pod matching a higher-priority role belongs to that watch. */
    private Optional<Discovered> worker(PodView pod) {
        Optional<WorkerSpec> spec = mapper.worker(pod).filter(s -> s.role() == role);
        if (spec.isEmpty() && mapper.role(pod.labels()).filter(r -> r == role).isPresent()) {
            LOG.log(Level.DEBUG, "kubernetes discovery: pod {0} out of rotation (phase {1}, ready {2}, ip {3}"
                    + ", terminating {4})", pod.name(), pod.phase(), pod.ready(), pod.podIp(), pod.terminating());
        }
        return spec.map(s -> new Discovered(pod.name(), s));
    }

    private Call call(boolean watch, String page) throws ApiException {
        Integer limit = watch ? null : tuning.pageSize();
        Integer timeout = watch ? (int) tuning.watchTimeout().toSeconds() : null;
        String version = watch ? resourceVersion : null;
        if (namespace == null) {
            return api.listPodForAllNamespaces().labelSelector(selector).limit(limit)._continue(page)
                    .watch(watch ? Boolean.TRUE : null).allowWatchBookmarks(watch ? Boolean.TRUE : null)
                    .resourceVersion(version).timeoutSeconds(timeout).buildCall(null);
        }
        return api.listNamespacedPod(namespace).labelSelector(selector).limit(limit)._continue(page)
                .watch(watch ? Boolean.TRUE : null).allowWatchBookmarks(watch ? Boolean.TRUE : null)
                .resourceVersion(version).timeoutSeconds(timeout).buildCall(null);
    }

    /** Runs the request on {@code http} (our timeouts) and returns a 2xx response; anything else is thrown. */
    private Response execute(OkHttpClient http, Call built) throws IOException {
        Call call = http.newCall(built.request());
        inFlight = call;
        if (closed) {
            call.cancel();
        }
        Response response = call.execute();
        if (response.isSuccessful()) {
            return response;
        }
        try (response) {
            String body = bodyText(response.body());
            String message = "HTTP " + response.code() + " from " + built.request().url().encodedPath()
                    + (body.isEmpty() ? "" : ": " + body);
            if (response.code() == 410) {
                throw new Gone(message);
            }
            if (response.code() == 401 || response.code() == 403) {
                message += " (the router's service account needs get/list/watch on pods"
                        + (namespace == null ? " in all namespaces)" : " in namespace " + namespace + ")");
            }
            throw new IOException(message);
        }
    }

    private static String bodyText(ResponseBody body) {
        try {
            byte[] head = body == null ? new byte[0] : body.byteStream().readNBytes(4096);
            String text = new String(head, StandardCharsets.UTF_8).strip();
            // a Status object says why in its message; and never log a whole page of HTML
            JsonNode status = text.startsWith("{") ? JSON.readTree(text) : null;
            if (status != null && status.hasNonNull("message")) {
                return status.get("message").asText();
            }
            return text.length() > 200 ? text.substring(0, 200) + "..." : text;
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private void retry(Exception cause, Duration delay) {
        LOG.log(Level.WARNING, "kubernetes discovery: {0}: {1}; retrying in {2} s", describe(), cause.toString(),
                delay.toMillis() / 1000.0);
        try {
            listener.retrying(cause, delay);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "discovery listener failed: " + e);
        }
        pause(delay);
    }

    private void pause(Duration delay) {
        try {
            sleeper.sleep(delay);
        } catch (InterruptedException e) {
            // close() interrupts the sleep; anything else interrupting us also means stop
            closed = true;
        }
    }
}
