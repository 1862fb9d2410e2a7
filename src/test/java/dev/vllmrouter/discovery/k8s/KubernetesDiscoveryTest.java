package dev.vllmrouter.discovery.k8s;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;
import static org.awaitility.Awaitility.await;

/**
 * Kubernetes discovery end to end: the real client-java connection against {@link FakeKubeApi}, the real registry.
 * Waits are for observable states (registry content, requests the server saw); the reconnect waits go through a
 * recording sleeper, so no test waits on the backoff clock.
 */
class KubernetesDiscoveryTest {
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final Map<String, String> VLLM = Map.of("app", "vllm");

    private FakeKubeApi api;
    private WorkerRegistry registry;
    private final RecordingSleeper sleeper = new RecordingSleeper();
    private final RecordingListener listener = new RecordingListener();
    private KubernetesDiscovery discovery;

    @BeforeEach
    void setUp() throws IOException {
        api = new FakeKubeApi();
        registry = new WorkerRegistry(1);
    }

    @AfterEach
    void tearDown() {
        sleeper.release();
        if (discovery != null) {
            discovery.close();
        }
        api.close();
    }

    @Test
    void readyPodsBecomeWorkersAndTheSelectorIsSentToTheServer() throws IOException {
        registry.add(WorkerUrl.parse("http://static:8000"));
        api.put(FakePod.ready("vllm-0", "10.0.0.1", "app", "vllm", "tier", "gpu"));
        api.put(FakePod.ready("vllm-1", "10.0.0.2", "app", "vllm", "tier", "gpu").withReady(false));
        api.put(FakePod.ready("web-0", "10.0.0.3", "app", "web", "tier", "gpu"));
        long listed = api.version();

        start(KubernetesDiscoveryConfig.regular(Map.of("tier", "gpu", "app", "vllm"), 8000, "default"));

        awaitWorkers("http://static:8000", "http://10.0.0.1:8000");
        eventually().until(() -> api.openWatches() == 1);
        assertThat(api.requests()).allSatisfy(r -> {
            assertThat(r.path()).isEqualTo("/api/v1/namespaces/default/pods");
            assertThat(r.query()).containsEntry("labelSelector", "app=vllm,tier=gpu");
        });
        assertThat(api.lists()).singleElement().satisfies(r -> assertThat(r.query())
                .containsEntry("limit", "500").doesNotContainKeys("watch", "resourceVersion"));
        assertThat(api.watches()).singleElement().satisfies(r -> assertThat(r.query()).contains(
                entry("resourceVersion", Long.toString(listed)), entry("allowWatchBookmarks", "true"),
                entry("timeoutSeconds", "300")));
        assertThat(discovery.synced()).isTrue();
        assertThat(registry.find("http://10.0.0.1:8000").role()).isEqualTo(Role.REGULAR);
    }

    @Test
    void aPodLeavesRotationWhenNotReadyAndComesBackWhenReady() {
        FakePod pod = FakePod.ready("vllm-0", "10.0.0.1", "app", "vllm");
        api.put(pod);
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://10.0.0.1:8000");

        api.put(pod.withReady(false));
        awaitWorkers();
        api.put(pod);
        awaitWorkers("http://10.0.0.1:8000");
        api.put(pod.withPhase("Succeeded"));
        awaitWorkers();
        api.put(pod);
        awaitWorkers("http://10.0.0.1:8000");
        api.put(pod.beingDeleted());
        awaitWorkers();
        api.put(pod.withIp("10.0.0.9"));
        awaitWorkers("http://10.0.0.9:8000");
    }

    @Test
    void aDeletedPodIsRemovedWhateverStateItWasAddedIn() {
        FakePod pod = FakePod.ready("vllm-0", "10.0.0.1", "app", "vllm");
        api.put(pod);
        api.put(FakePod.ready("vllm-1", "10.0.0.2", "app", "vllm"));
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://10.0.0.1:8000", "http://10.0.0.2:8000");

        // vllm-router tracked pods by a struct that includes their status, so this deletion would be missed
        api.put(pod.withAnnotation("note", "changed").withPhase("Running"));
        api.delete(pod.uid());
        awaitWorkers("http://10.0.0.2:8000");
    }

    @Test
    void podsAreTrackedByUidNotByName() {
        FakePod old = FakePod.ready("vllm-0", "10.0.0.1", "app", "vllm");
        FakePod recreated = new FakePod("uid-vllm-0-second", "default", "vllm-0", old.labels(), Map.of(),
                "10.0.0.2", "Running", true, false);
        api.put(old);
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://10.0.0.1:8000");

        api.put(recreated); // a StatefulSet pod comes back under the same name before the old one is gone
        awaitWorkers("http://10.0.0.1:8000", "http://10.0.0.2:8000");
        api.delete(old.uid());
        awaitWorkers("http://10.0.0.2:8000");
    }

    @Test
    void aPodRelabelledOutOfTheSelectorIsRemoved() {
        FakePod pod = FakePod.ready("vllm-0", "10.0.0.1", "app", "vllm");
        api.put(pod);
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://10.0.0.1:8000");

        api.put(pod.withLabels("app", "retired")); // the API server sends DELETED to a watch with a selector
        awaitWorkers();
        api.put(pod); // ... and ADDED when it matches again
        awaitWorkers("http://10.0.0.1:8000");
        api.putUnfiltered(pod.withLabels("app", "retired")); // a MODIFIED that no longer matches
        awaitWorkers();
    }

    @Test
    void aDroppedWatchResumesFromItsResourceVersionWithoutARelist() {
        FakePod a = FakePod.ready("vllm-a", "10.0.0.1", "app", "vllm");
        api.put(a);
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://10.0.0.1:8000");
        eventually().until(() -> api.openWatches() == 1);
        long seen = api.version();

        sleeper.hold();
        api.failNext(503, 1); // and the first reconnect fails
        api.dropWatches();
        eventually().until(() -> sleeper.pauses().size() == 1); // discovery is now between watches
        api.put(FakePod.ready("vllm-b", "10.0.0.2", "app", "vllm"));
        api.delete(a.uid());
        sleeper.release();

        awaitWorkers("http://10.0.0.2:8000");
        assertThat(registry.snapshot().workers()).hasSize(1);
        assertThat(api.lists()).as("no relist").hasSize(1);
        assertThat(api.watches()).hasSizeGreaterThanOrEqualTo(3)
                .allSatisfy(w -> assertThat(w.query()).containsEntry("resourceVersion", Long.toString(seen)));
        assertThat(listener.retries).hasSize(1);
        assertThat(listener.retries.getFirst().getMessage()).contains("HTTP 503");
    }

    @ParameterizedTest(name = "410 as {0}")
    @ValueSource(strings = {"watch ERROR event", "HTTP status"})
    void goneRelistsAndForgetsWhatTheListNoLongerHas(String how) {
        FakePod a = FakePod.ready("vllm-a", "10.0.0.1", "app", "vllm");
        api.put(a);
        api.put(FakePod.ready("vllm-b", "10.0.0.2", "app", "vllm"));
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://10.0.0.1:8000", "http://10.0.0.2:8000");
        eventually().until(() -> api.openWatches() == 1);

        Runnable changes = () -> {
            api.delete(a.uid());
            api.put(FakePod.ready("vllm-c", "10.0.0.3", "app", "vllm"));
        };
        if (how.equals("HTTP status")) {
            sleeper.hold();
            api.dropWatches();
            eventually().until(() -> sleeper.pauses().size() == 1);
            api.goneAsHttpStatus(true);
            api.compact(changes);
            sleeper.release();
        } else {
            api.compact(changes); // the open watch ends with ERROR 410
        }

        awaitWorkers("http://10.0.0.2:8000", "http://10.0.0.3:8000");
        assertThat(api.lists()).hasSize(2);
        if (how.equals("watch ERROR event")) {
            assertThat(sleeper.pauses()).as("the first 410 relists at once").isEmpty();
        }
    }

    @Test
    void bookmarksAdvanceTheResourceVersionAWatchResumesFrom() {
        api.put(FakePod.ready("vllm-a", "10.0.0.1", "app", "vllm"));
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://10.0.0.1:8000");
        eventually().until(() -> api.openWatches() == 1);

        api.bookmark();
        long bookmark = api.version();
        eventually().until(() -> api.delivered() == 1);
        api.dropWatches();

        eventually().until(() -> api.watches().size() == 2);
        assertThat(api.watches().getLast().query()).containsEntry("resourceVersion", Long.toString(bookmark));
        assertThat(sleeper.pauses()).as("a watch that carried events is resumed at once").isEmpty();
    }

    @Test
    void failedRequestsBackOffExponentiallyAndKeepTheKnownWorkers() {
        api.put(FakePod.ready("vllm-a", "10.0.0.1", "app", "vllm"));
        api.failNext(403, 1);
        api.failNext(500, 2);
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));

        awaitWorkers("http://10.0.0.1:8000");
        assertThat(sleeper.pauses()).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2),
                Duration.ofSeconds(4));
        assertThat(listener.retries).hasSize(3);
        assertThat(listener.retries.getFirst().getMessage()).contains("HTTP 403", "get/list/watch on pods");

        // an outage of the API server leaves the fleet as it was
        eventually().until(() -> api.openWatches() == 1);
        sleeper.hold();
        api.dropWatches();
        eventually().until(() -> sleeper.pauses().size() == 4);
        assertThat(registry.snapshot().workers()).extracting(Worker::id).containsExactly("http://10.0.0.1:8000");
    }

    @Test
    void aGoneAfterAnOutageRelistsAtOnce() {
        FakePod a = FakePod.ready("vllm-a", "10.0.0.1", "app", "vllm");
        api.put(a);
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://10.0.0.1:8000");
        eventually().until(() -> api.openWatches() == 1);

        sleeper.hold();
        api.failNext(500, 3); // the API server is down for a while ...
        api.dropWatches();
        eventually().until(() -> sleeper.pauses().size() == 1);
        api.compact(() -> { // ... and comes back without the version discovery last saw
            api.delete(a.uid());
            api.put(FakePod.ready("vllm-c", "10.0.0.3", "app", "vllm"));
        });
        sleeper.release();

        awaitWorkers("http://10.0.0.3:8000");
        assertThat(sleeper.pauses()).as("the empty watch, three failures, then no pause before the relist")
                .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(2),
                        Duration.ofSeconds(4));
        assertThat(api.lists()).hasSize(2);
    }

    @Test
    void aRecoveredServerResetsTheBackoff() {
        api.put(FakePod.ready("vllm-a", "10.0.0.1", "app", "vllm"));
        api.failNext(500, 6);
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://10.0.0.1:8000");
        eventually().until(() -> api.openWatches() == 1);
        assertThat(sleeper.pauses()).hasSize(6).last().isEqualTo(Duration.ofSeconds(32));

        api.failNext(500, 1); // one blip on a quiet cluster (the watch carried no event)
        api.dropWatches();
        eventually().until(() -> api.openWatches() == 1 && sleeper.pauses().size() == 8);
        assertThat(sleeper.pauses().subList(6, 8)).as("the empty watch, then a first failure again")
                .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(1));
    }

    @Test
    void listsArePaged() {
        for (int i = 0; i < 5; i++) {
            api.put(FakePod.ready("vllm-" + i, "10.0.0." + (i + 1), "app", "vllm"));
        }
        long listed = api.version();
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"),
                new PodWatch.Tuning(ReconnectBackoff.DEFAULT, Duration.ofMinutes(5), Duration.ofSeconds(30), 2));

        awaitWorkers("http://10.0.0.1:8000", "http://10.0.0.2:8000", "http://10.0.0.3:8000",
                "http://10.0.0.4:8000", "http://10.0.0.5:8000");
        assertThat(api.lists()).extracting(r -> r.query().get("continue"))
                .containsExactly(null, listed + ":2", listed + ":4");
        eventually().until(() -> api.watches().size() == 1);
        assertThat(api.watches().getFirst().query()).containsEntry("resourceVersion", Long.toString(listed));
    }

    @Test
    void pdModeWatchesEachRoleAndReadsTheBootstrapPort() {
        String annotation = KubernetesDiscoveryConfig.BOOTSTRAP_PORT_ANNOTATION;
        api.put(FakePod.ready("p0", "10.0.1.1", "prefill", "yes").withAnnotation(annotation, "8998"));
        api.put(FakePod.ready("p1", "10.0.1.2", "prefill", "yes").withAnnotation(annotation, "not-a-port"));
        FakePod both = FakePod.ready("pd", "10.0.1.3", "prefill", "yes", "decode", "yes");
        api.put(both);
        api.put(FakePod.ready("d0", "10.0.2.1", "decode", "yes").withAnnotation(annotation, "8998"));
        FakePod late = FakePod.ready("p2", "10.0.1.4", "prefill", "yes");
        api.put(late);

        start(KubernetesDiscoveryConfig.prefillDecode(Map.of("prefill", "yes"), Map.of("decode", "yes"), 8000,
                "default"));

        eventually().untilAsserted(() -> {
            assertThat(ids(Role.PREFILL)).containsExactlyInAnyOrder("http://10.0.1.1:8000", "http://10.0.1.2:8000",
                    "http://10.0.1.3:8000", "http://10.0.1.4:8000");
            assertThat(ids(Role.DECODE)).containsExactly("http://10.0.2.1:8000");
        });
        assertThat(registry.find("http://10.0.1.1:8000").bootstrapPort()).isEqualTo(8998);
        assertThat(registry.find("http://10.0.1.2:8000").bootstrapPort()).isEqualTo(-1);
        assertThat(registry.find("http://10.0.2.1:8000").bootstrapPort()).as("decode pods have none").isEqualTo(-1);
        assertThat(api.requests()).extracting(r -> r.query().get("labelSelector")).containsOnly("prefill=yes",
                "decode=yes").contains("prefill=yes", "decode=yes");

        api.put(both.withLabels("prefill", "no", "decode", "yes")); // becomes a decode worker
        api.put(late.withAnnotation(annotation, "8999")); // the annotation arrives after the pod
        eventually().untilAsserted(() -> {
            assertThat(ids(Role.DECODE)).containsExactlyInAnyOrder("http://10.0.2.1:8000", "http://10.0.1.3:8000");
            assertThat(registry.find("http://10.0.1.4:8000").bootstrapPort()).isEqualTo(8999);
        });
        assertThat(ids(Role.PREFILL)).containsExactlyInAnyOrder("http://10.0.1.1:8000", "http://10.0.1.2:8000",
                "http://10.0.1.4:8000");
    }

    @Test
    void ipv6PodAddressesAreBracketed() {
        api.put(FakePod.ready("vllm-0", "fd00:10::5", "app", "vllm"));
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://[fd00:10::5]:8000");
    }

    @Test
    void oneNamespaceOrAll() {
        api.put(FakePod.ready("vllm-a", "10.0.0.1", "app", "vllm").inNamespace("team-a"));
        api.put(new FakePod("uid-b", "team-b", "vllm-b", VLLM, Map.of(), "10.0.0.2", "Running", true, false));

        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "team-a"));
        awaitWorkers("http://10.0.0.1:8000");
        eventually().until(() -> api.openWatches() == 1); // its watch is recorded before `before` is taken
        assertThat(api.requests()).extracting(FakeKubeApi.Request::path)
                .containsOnly("/api/v1/namespaces/team-a/pods");
        discovery.close();

        int before = api.requests().size();
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, null));
        awaitWorkers("http://10.0.0.1:8000", "http://10.0.0.2:8000");
        assertThat(api.requests().subList(before, api.requests().size())).extracting(FakeKubeApi.Request::path)
                .containsOnly("/api/v1/pods");
    }

    @Test
    void theListenerHearsEachChangeOnce() {
        FakePod a = FakePod.ready("vllm-a", "10.0.0.1", "app", "vllm");
        FakePod b = FakePod.ready("vllm-b", "10.0.0.2", "app", "vllm");
        api.put(a);
        api.put(b);
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://10.0.0.1:8000", "http://10.0.0.2:8000");

        api.delete(a.uid());
        api.put(b.withAnnotation("unrelated", "change")); // no change to the workers: no update
        api.put(FakePod.ready("vllm-c", "10.0.0.3", "app", "vllm"));
        awaitWorkers("http://10.0.0.2:8000", "http://10.0.0.3:8000");
        eventually().until(() -> listener.updates.size() == 3);
        assertThat(listener.updates).containsExactly(new Update(2, 0, 2), new Update(0, 1, 1), new Update(1, 0, 2));
        assertThat(discovery.workers()).extracting(s -> s.url().id())
                .containsExactly("http://10.0.0.2:8000", "http://10.0.0.3:8000");
    }

    @Test
    void anEmptySelectorWatchesNothing() {
        api.put(FakePod.ready("vllm-a", "10.0.0.1", "app", "vllm"));
        start(KubernetesDiscoveryConfig.regular(Map.of(), 8000, "default"));
        assertThat(discovery.synced()).isTrue();
        discovery.close();
        assertThat(api.requests()).isEmpty();
        assertThat(registry.snapshot().workers()).isEmpty();
    }

    @Test
    void closeEndsTheWatchAndLeavesTheWorkers() {
        api.put(FakePod.ready("vllm-a", "10.0.0.1", "app", "vllm"));
        start(KubernetesDiscoveryConfig.regular(VLLM, 8000, "default"));
        awaitWorkers("http://10.0.0.1:8000");
        eventually().until(() -> api.openWatches() == 1);

        discovery.close();
        assertThat(Thread.getAllStackTraces().keySet()).as("close() joins the watch threads")
                .noneMatch(t -> t.getName().startsWith("vllm-router-k8s-discovery") && t.isAlive());
        int requests = api.requests().size();
        api.put(FakePod.ready("vllm-b", "10.0.0.2", "app", "vllm"));
        assertThat(registry.snapshot().workers()).extracting(Worker::id).containsExactly("http://10.0.0.1:8000");
        assertThat(api.requests()).hasSize(requests);
    }

    // ---- helpers

    private static ConditionFactory eventually() {
        return await().atMost(WAIT).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10));
    }

    private void start(KubernetesDiscoveryConfig config) {
        start(config, PodWatch.Tuning.DEFAULT);
    }

    private void start(KubernetesDiscoveryConfig config, PodWatch.Tuning tuning) {
        try {
            discovery = new KubernetesDiscovery(config, registry, api.client(), listener, sleeper, tuning).start();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void awaitWorkers(String... ids) {
        eventually().untilAsserted(() -> assertThat(registry.snapshot().workers()).extracting(Worker::id)
                .containsExactlyInAnyOrder(ids));
    }

    private List<String> ids(Role role) {
        return registry.snapshot(role).workers().stream().map(Worker::id).toList();
    }

    record Update(int added, int removed, int workers) {
    }

    static final class RecordingListener implements DiscoveryListener {
        final List<Update> updates = new CopyOnWriteArrayList<>();
        final List<Throwable> retries = new CopyOnWriteArrayList<>();

        @Override
        public void updated(int added, int removed, int workers) {
            updates.add(new Update(added, removed, workers));
        }

        @Override
        public void retrying(Throwable cause, Duration delay) {
            retries.add(cause);
        }
    }

    /** Records each pause and returns at once, or, while held, blocks until released. */
    static final class RecordingSleeper implements PodWatch.Sleeper {
        private final List<Duration> pauses = new CopyOnWriteArrayList<>();
        private volatile CountDownLatch gate;

        @Override
        public void sleep(Duration d) throws InterruptedException {
            pauses.add(d);
            CountDownLatch g = gate;
            if (g != null) {
                g.await();
            }
        }

        List<Duration> pauses() {
            return List.copyOf(pauses);
        }

        void hold() {
            gate = new CountDownLatch(1);
        }

        void release() {
            CountDownLatch g = gate;
            gate = null;
            if (g != null) {
                g.countDown();
            }
        }
    }
}
