package dev.vllmrouter.kvevents;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.common.WorkerUrl;
import dev.vllmrouter.kvevents.Msgpack.U64;
import dev.vllmrouter.kvindex.KvIndex;
import dev.vllmrouter.worker.WorkerRegistry;

/**
 * The subscriber against a scripted publisher over real loopback sockets: sequence numbers in order, lost batches
 * with and without replay, an engine restart, a router joining a running engine, a bad batch, a dead publisher, a
 * stale one, and a worker that leaves.
 */
class KvEventSubscriberTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String WORKER = "http://127.0.0.1:1";
    private final AtomicLong clock = new AtomicLong(1_000_000_000L);
    private final WorkerRegistry registry = new WorkerRegistry(1);
    private final KvIndex index = new KvIndex(clock::get, 10_000);
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private ScriptedPublisher publisher(boolean replay) {
        ScriptedPublisher p = new ScriptedPublisher(replay);
        open.add(p);
        return p;
    }

    private KvEventSubscriber subscribe(ScriptedPublisher p) {
        registry.add(WorkerUrl.parse(WORKER));
        KvEventSubscriber s = new KvEventSubscriber(new KvEventsConfig(p.port, "", p.replayPort,
                Duration.ofSeconds(5), 10_000), registry::snapshot, index, clock::get).start();
        open.add(0, s); // closed after the publisher
        p.awaitSubscriber(WAIT);
        if (p.replayPort >= 0) {
            // on connecting, the subscriber asks for the engine's buffer once (joinReplay): let that happen first
            await().atMost(WAIT).until(() -> p.replayRequests() >= 1);
        }
        return s;
    }

    /** Tokens of block {@code b} of prompt {@code prompt}: 16 distinct ids. */
    private static List<Integer> block(int prompt, int b) {
        List<Integer> t = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            t.add(prompt * 10_000 + b * 100 + i);
        }
        return t;
    }

    private static int[] prompt(int prompt, int blocks) {
        int[] t = new int[blocks * 16];
        for (int b = 0; b < blocks; b++) {
            for (int i = 0; i < 16; i++) {
                t[b * 16 + i] = prompt * 10_000 + b * 100 + i;
            }
        }
        return t;
    }

    /** A BlockStored (v0.23 array shape) of block {@code b} of {@code prompt}, chained to block b-1. */
    private static Object stored(int prompt, int b) {
        return Arrays.asList("BlockStored", List.of(new U64(engineHash(prompt, b))),
                b == 0 ? null : new U64(engineHash(prompt, b - 1)), block(prompt, b), 16, null, "GPU", null);
    }

    private static long engineHash(int prompt, int b) {
        return 0x8000_0000_0000_0000L | (prompt * 1000L + b); // above 2^63, as vLLM's often are
    }

    private static byte[] batch(Object... events) {
        return Msgpack.pack(List.of(1.0, List.of(events), 0));
    }

    private int held(int prompt, int blocks) {
        KvIndex.Match m = index.lookup(prompt(prompt, blocks), 16, null, null).get(WORKER);
        return m == null ? 0 : m.tokens();
    }

    @Test
    void batchesInSequenceMakeAnExactIndex() {
        ScriptedPublisher p = publisher(false);
        KvEventSubscriber s = subscribe(p);
        p.send(0, batch(stored(1, 0), stored(1, 1)));
        p.send(1, batch(stored(1, 2), List.of("BlockRemoved", List.of(new U64(engineHash(1, 2))), "GPU")));
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 1);
        assertThat(held(1, 3)).isEqualTo(32);
        SourceStatus st = s.status(WORKER);
        assertThat(st.state()).isEqualTo(SourceState.EXACT);
        assertThat(st.connected()).isTrue();
        assertThat(st.batches()).isEqualTo(2);
        assertThat(st.events()).isEqualTo(4);
        assertThat(st.blocks()).isEqualTo(2);
        assertThat(st.gaps()).isZero();
    }

    @Test
    void aLostBatchIsReplayed() {
        ScriptedPublisher p = publisher(true);
        KvEventSubscriber s = subscribe(p);
        p.send(0, batch(stored(1, 0)));
        p.lose(1, batch(stored(1, 1)));
        p.send(2, batch(stored(1, 2)));
        p.send(3, batch(stored(1, 3)));
        // the index and the status are read from another thread than the one applying: wait for both
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 3 && held(1, 4) == 64
                && s.status(WORKER).replays() == 1);
        SourceStatus st = s.status(WORKER);
        assertThat(st.state()).isEqualTo(SourceState.EXACT);
        assertThat(st.gaps()).isEqualTo(1);
        assertThat(st.replays()).isEqualTo(1);
        assertThat(st.resets()).isZero();
        assertThat(p.replayRequests()).as("one on joining, one for the gap").isEqualTo(2);
    }

    @Test
    void aLostBatchWithoutReplayDropsTheSourceAndDegradesIt() {
        ScriptedPublisher p = publisher(false);
        KvEventSubscriber s = subscribe(p);
        p.send(0, batch(stored(1, 0), stored(1, 1)));
        p.lose(1, batch(stored(2, 0)));
        p.send(2, batch(stored(3, 0)));
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 2);
        assertThat(held(1, 2)).isZero(); // dropped: the lost batch may have removed them
        assertThat(held(3, 1)).isEqualTo(16);
        SourceStatus st = s.status(WORKER);
        assertThat(st.state()).isEqualTo(SourceState.DEGRADED);
        assertThat(st.reason()).contains("batches 1..1 were lost");
        assertThat(st.gaps()).isEqualTo(1);
        assertThat(st.resets()).isEqualTo(1);
        // AllBlocksCleared: the engine's cache is known again
        p.send(3, batch(List.of("AllBlocksCleared"), stored(4, 0)));
        await().atMost(WAIT).until(() -> s.status(WORKER).state() == SourceState.EXACT);
        assertThat(held(3, 1)).isZero();
        assertThat(held(4, 1)).isEqualTo(16);
    }

    @Test
    void aReplayThatNoLongerReachesTheGapResetsTheSource() {
        ScriptedPublisher p = publisher(true);
        KvEventSubscriber s = subscribe(p);
        p.send(0, batch(stored(1, 0)));
        p.lose(1, batch(stored(2, 0)));
        p.forgetBefore(2);
        p.send(2, batch(stored(3, 0)));
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 2);
        SourceStatus st = s.status(WORKER);
        assertThat(st.replayFailures()).isEqualTo(1);
        assertThat(st.state()).isEqualTo(SourceState.DEGRADED);
        assertThat(held(1, 1)).isZero();
        assertThat(held(3, 1)).isEqualTo(16);
    }

    @Test
    void aSequenceGoingBackIsARestartedEngine() {
        ScriptedPublisher p = publisher(false);
        KvEventSubscriber s = subscribe(p);
        p.send(0, batch(stored(1, 0)));
        p.send(1, batch(stored(1, 1)));
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 1);
        p.send(0, batch(stored(2, 0)));
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 0);
        assertThat(held(1, 2)).isZero();
        assertThat(held(2, 1)).isEqualTo(16);
        SourceStatus st = s.status(WORKER);
        assertThat(st.resets()).isEqualTo(1);
        assertThat(st.state()).isEqualTo(SourceState.EXACT);
    }

    @Test
    void joiningARunningEngineReplaysFromZeroWhenItCan() {
        ScriptedPublisher p = publisher(true);
        p.lose(0, batch(stored(1, 0)));
        p.lose(1, batch(stored(1, 1)));
        KvEventSubscriber s = subscribe(p);
        p.send(2, batch(stored(1, 2)));
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 2);
        assertThat(held(1, 3)).isEqualTo(48);
        assertThat(s.status(WORKER).state()).isEqualTo(SourceState.EXACT);
    }

    @Test
    void joiningCatchesUpFromTheReplayBufferBeforeAnyNewBatch() {
        ScriptedPublisher p = publisher(true);
        p.lose(0, batch(stored(1, 0)));
        p.lose(1, batch(stored(1, 1)));
        KvEventSubscriber s = subscribe(p);
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 1 && held(1, 2) == 32
                && s.status(WORKER).state() == SourceState.EXACT);
        assertThat(s.status(WORKER).replays()).isEqualTo(1);
    }

    @Test
    void joiningAnEngineThatPublishedNothingIsExactAtOnce() {
        ScriptedPublisher p = publisher(true);
        KvEventSubscriber s = subscribe(p);
        await().atMost(WAIT).until(() -> s.status(WORKER).state() == SourceState.EXACT);
        assertThat(s.status(WORKER).lastSequence()).isEqualTo(-1);
        p.send(0, batch(stored(1, 0)));
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 0);
        assertThat(s.status(WORKER).state()).isEqualTo(SourceState.EXACT);
        assertThat(held(1, 1)).isEqualTo(16);
    }

    @Test
    void joiningWhenTheReplayBufferNoLongerReachesBackIsDegraded() {
        ScriptedPublisher p = publisher(true);
        p.lose(0, batch(stored(1, 0)));
        p.lose(1, batch(stored(2, 0)));
        p.forgetBefore(1);
        KvEventSubscriber s = subscribe(p);
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 1);
        assertThat(s.status(WORKER).state()).isEqualTo(SourceState.DEGRADED);
        assertThat(s.status(WORKER).reason()).contains("joined the engine at batch 1");
        assertThat(held(2, 1)).as("what the buffer still held is known").isEqualTo(16);
        assertThat(held(1, 1)).isZero();
    }

    @Test
    void joiningARunningEngineWithoutReplayIsDegraded() {
        ScriptedPublisher p = publisher(false);
        KvEventSubscriber s = subscribe(p);
        p.send(7, batch(stored(5, 0)));
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 7);
        assertThat(s.status(WORKER).state()).isEqualTo(SourceState.DEGRADED);
        assertThat(s.status(WORKER).reason()).contains("joined the engine at batch 7");
        assertThat(held(5, 1)).isEqualTo(16);
    }

    @Test
    void anUndecodableBatchDropsTheSource() {
        ScriptedPublisher p = publisher(false);
        KvEventSubscriber s = subscribe(p);
        p.send(0, batch(stored(1, 0)));
        p.send(1, Msgpack.pack("not a batch"));
        await().atMost(WAIT).until(() -> s.status(WORKER).lastSequence() == 1);
        SourceStatus st = s.status(WORKER);
        assertThat(st.decodeErrors()).isEqualTo(1);
        assertThat(st.state()).isEqualTo(SourceState.DEGRADED);
        assertThat(held(1, 1)).isZero();
    }

    @Test
    void aDeadPublisherPutsTheSourceInFallback() {
        ScriptedPublisher p = publisher(false);
        KvEventSubscriber s = subscribe(p);
        assertThat(s.status(WORKER).state()).isEqualTo(SourceState.FALLBACK); // no batch yet
        p.send(0, batch(stored(1, 0)));
        await().atMost(WAIT).until(() -> s.status(WORKER).state() == SourceState.EXACT);
        p.killPublisher();
        await().atMost(WAIT).until(() -> s.status(WORKER).state() == SourceState.FALLBACK);
        assertThat(s.status(WORKER).connected()).isFalse();
        assertThat(s.status(WORKER).reason()).startsWith("not connected to tcp://127.0.0.1:" + p.port);
    }

    @Test
    void aWorkerServingRequestsWithoutBatchesGoesStale() {
        ScriptedPublisher p = publisher(false);
        KvEventSubscriber s = subscribe(p);
        p.send(0, batch(stored(1, 0)));
        await().atMost(WAIT).until(() -> s.status(WORKER).state() == SourceState.EXACT);
        clock.addAndGet(Duration.ofMinutes(5).toNanos()); // idle: no requests, no batches, still exact
        await().during(Duration.ofMillis(300)).atMost(WAIT)
                .until(() -> s.status(WORKER).state() == SourceState.EXACT);
        registry.snapshot().workers().get(0).acquire().close(); // a request went to the worker
        // the subscriber's loop notices the traffic at a tick of its own: the clock moves on a second per look, so
        // the stale time passes after that tick whenever it comes
        await().atMost(WAIT).until(() -> {
            clock.addAndGet(Duration.ofSeconds(1).toNanos());
            return s.status(WORKER).state() == SourceState.FALLBACK;
        });
        assertThat(s.status(WORKER).reason()).contains("while serving requests");
        p.send(1, batch(stored(1, 1)));
        await().atMost(WAIT).until(() -> s.status(WORKER).state() == SourceState.EXACT);
    }

    @Test
    void aWorkerThatLeavesTakesItsSocketAndEntries() {
        ScriptedPublisher p = publisher(false);
        KvEventSubscriber s = subscribe(p);
        p.send(0, batch(stored(1, 0)));
        await().atMost(WAIT).until(() -> held(1, 1) == 16);
        registry.remove(WORKER);
        await().atMost(WAIT).until(() -> s.status(WORKER) == null);
        assertThat(held(1, 1)).isZero();
        assertThat(index.stats().blocks()).isZero();
    }
}
