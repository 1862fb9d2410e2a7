package dev.vllmrouter.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.TreeMap;

import dev.vllmrouter.common.Hashing;
import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.sim.PrefixCacheModel;
import dev.vllmrouter.worker.Lease;
import dev.vllmrouter.worker.Worker;

/**
 * One run of the routing-quality simulation: a discrete-event simulation in virtual time (a priority queue of
 * arrivals and completions, no sleeping, no sockets, no threads), deterministic for a seed.
 * <p>Workload: {@code conversations} chats of {@code turns} turns ({@link ChatText}: one shared system prompt, then
 * per turn a user message and the previous answer, so turn k's rendered prompt is a prefix of turn k+1's).
 * {@code active} conversations are in progress at any time: the first ones start at random times within two mean
 * think times; a turn arrives an exponential think time after the previous turn's answer completed; when a
 * conversation ends, the next one starts a think time later. Think and start times come from a per-conversation
 * random stream, so every policy sees the same workload (arrival times still depend on the service times it causes).
 * <p>Per request: the {@link Router} picks a worker (a real {@code Picker}, or the bench's oracle); the request holds
 * {@code worker.acquire()} until it completes (so load-aware policies see in-flight counts); the worker's
 * {@link PrefixCacheModel} looks the prompt up and stores it; the service time is
 * {@code (uncached tokens × prefill + output tokens × decode) × (1 + slowdown × requests already in flight there)},
 * fixed at dispatch. There is no queue: a worker runs any number of requests at once, only slower (the slowdown
 * factor is the whole model of batching and queueing), so latency = service time.
 * <p>Measured: hit and prompt tokens over all workers, per-worker busy time (sum of service times) and request
 * counts, latencies, the time-integrals of the max and the mean of per-worker in-flight counts, decision reasons.
 */
final class FleetSim {
    /** Chooses the worker of a request: a real policy's picker, or the oracle. */
    interface Router {
        Decision route(int conversation, RoutingKey key);
    }

    /** How often (virtual) the periodic hook runs: the router's default {@code --eviction-interval}. */
    static final long TICK_US = 120_000_000L;

    private static final class Conversation {
        final int id;
        final SplittableRandom random;
        final String key;
        StringBuilder history;
        int turn;

        Conversation(int id, SplittableRandom random, String key, StringBuilder history) {
            this.id = id;
            this.random = random;
            this.key = key;
            this.history = history;
        }
    }

    /** An arrival (lease == null), a completion, or an action of the scenario (conversation == null). */
    private record Event(long time, long seq, Conversation conversation, Lease lease, Runnable action) {
    }

    /** A cache change on its way to the index (applied at {@code time}: the events' lag). */
    private record Pending(long time, Runnable apply) {
    }

    private final QualityParams p;
    private final ChatText text;
    private final List<Worker> workers;
    private final Router router;
    private final Runnable tick;
    /** Worker id → its position: replicas of a router each have their own {@code Worker} objects for one worker. */
    private final Map<String, Integer> index = new java.util.HashMap<>();
    /** Requests running on each worker, whichever router replica sent them. */
    private final int[] inFlight;
    private final PrefixCacheModel[] caches;
    private final PriorityQueue<Event> queue =
            new PriorityQueue<>(Comparator.comparingLong(Event::time).thenComparingLong(Event::seq));
    private final long[] busyUs;
    private final long[] requests;
    private final List<Long> latencies = new ArrayList<>();
    private final Map<String, Integer> reasons = new TreeMap<>();
    private long seq;
    private long now;
    private long nextTick = TICK_US;
    private int nextConversation;
    private double maxInFlightArea;
    private double meanInFlightArea;
    private final java.util.concurrent.atomic.AtomicLong virtualNanos;
    private final java.util.function.Consumer<FleetSim> atHalf;
    private long arrivals;
    private long hitTokens;
    private long promptTokens;
    private long eventLagUs;
    private final java.util.ArrayDeque<Pending> pending = new java.util.ArrayDeque<>();
    private int pendingConversationEvents;

    /**
     * @param workers the fleet (the registry's workers, in order)
     * @param tick    run every {@link #TICK_US} of virtual time (cache_aware's eviction), or {@code null}
     */
    FleetSim(QualityParams p, ChatText text, List<Worker> workers, Router router, Runnable tick) {
        this(p, text, workers, router, tick, List.of(), null, null);
    }

    /**
     * @param kvIndexes    each fed by every worker's prefix-cache changes, as its KV events would be (at once unless
     *                     {@link #eventLag} is set); one per router replica, since each follows the same events
     * @param virtualNanos set to the virtual time in nanoseconds as the simulation advances (the index's clock), or
     *                     null
     * @param atHalf       run once when half of all requests have arrived (a disturbance), or null
     */
    FleetSim(QualityParams p, ChatText text, List<Worker> workers, Router router, Runnable tick,
             List<dev.vllmrouter.kvindex.KvIndex> kvIndexes, java.util.concurrent.atomic.AtomicLong virtualNanos,
             java.util.function.Consumer<FleetSim> atHalf) {
        this.virtualNanos = virtualNanos;
        this.atHalf = atHalf;
        this.p = p;
        this.text = text;
        this.workers = List.copyOf(workers);
        this.router = router;
        this.tick = tick;
        this.caches = new PrefixCacheModel[workers.size()];
        this.inFlight = new int[workers.size()];
        for (int i = 0; i < workers.size(); i++) {
            index.put(workers.get(i).id(), i);
            caches[i] = new PrefixCacheModel(p.blockSize(), p.capacityBlocks());
            if (!kvIndexes.isEmpty()) {
                caches[i].listener(new IndexFeed(this, List.copyOf(kvIndexes), workers.get(i).id(), p.blockSize()));
                for (dev.vllmrouter.kvindex.KvIndex kvIndex : kvIndexes) {
                    kvIndex.addSource(workers.get(i).id());
                }
            }
        }
        this.busyUs = new long[workers.size()];
        this.requests = new long[workers.size()];
    }

    /** Delays every cache change on its way to the index by {@code us} of virtual time (the events' lag). */
    FleetSim eventLag(long us) {
        this.eventLagUs = us;
        return this;
    }

    /**
     * Runs {@code action} every {@code periodUs} of virtual time, starting at {@code firstUs}, while conversations
     * are still running.
     */
    FleetSim every(long firstUs, long periodUs, java.util.function.Consumer<FleetSim> action) {
        Runnable[] self = new Runnable[1];
        self[0] = () -> {
            action.accept(this);
            if (pendingConversationEvents > 0) {
                scheduleAction(now + periodUs, self[0]);
            }
        };
        scheduleAction(firstUs, self[0]);
        return this;
    }

    SimResult run(String name) {
        int first = Math.min(p.active(), p.conversations());
        for (nextConversation = 0; nextConversation < first; ) {
            Conversation c = newConversation();
            schedule(Math.round(c.random.nextDouble() * 2 * p.thinkMs() * 1000), c, null);
        }
        while (!queue.isEmpty()) {
            Event e = queue.poll();
            advance(e.time);
            if (e.conversation == null) {
                e.action.run();
                continue;
            }
            pendingConversationEvents--;
            if (e.lease == null) {
                arrive(e.conversation);
            } else {
                complete(e.conversation, e.lease);
            }
        }
        long[] lat = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
        return new SimResult(name, p.active(), hitTokens, promptTokens, busyUs, requests, lat, maxInFlightArea,
                meanInFlightArea, reasons, now);
    }

    private Conversation newConversation() {
        int id = nextConversation++;
        SplittableRandom random = new SplittableRandom(Hashing.fmix64(p.seed() * 31 + id));
        return new Conversation(id, random, text.conversationKey(id), text.newHistory(id));
    }

    /** Every worker's cache dropped ({@code POST /reset_prefix_cache} to the fleet). */
    void resetCaches() {
        for (PrefixCacheModel c : caches) {
            c.reset();
        }
    }

    /**
     * Worker {@code i}'s cache dropped: its engine restarted, or it got {@code POST /reset_prefix_cache} from someone
     * else than this router (its events say so: an {@code AllBlocksCleared}, or a sequence that starts over).
     */
    void resetCache(int i) {
        caches[i].reset();
    }

    /**
     * A prompt of {@code tokens} random token ids sent to worker {@code i} by someone else (another router, a client
     * calling the worker directly): it takes cache space, its hits are not counted, the router does not see it.
     */
    void foreignPrompt(int i, int tokens, SplittableRandom random) {
        int[] ids = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            ids[t] = random.nextInt(1 << 30);
        }
        caches[i].lookupAndStore(ids);
    }

    /** Requests running on worker {@code i} now, from every router replica (what its {@code /metrics} reports). */
    int inFlight(int i) {
        return inFlight[i];
    }

    /** The virtual time, in nanoseconds. */
    long nowNanos() {
        return now * 1000;
    }

    /** The position of the worker with this id. */
    int indexOf(String workerId) {
        return index.get(workerId);
    }

    private void arrive(Conversation c) {
        if (atHalf != null && arrivals++ == (long) p.conversations() * p.turns() / 2) {
            atHalf.accept(this);
        }
        String prompt = text.prompt(c.history, c.id, c.turn);
        Decision d = router.route(c.id, new BenchKey(null, c.key, prompt));
        if (d == null) {
            throw new IllegalStateException("no worker chosen");
        }
        Worker w = d.worker();
        int i = index.get(w.id());
        int others = inFlight[i]++;
        Lease lease = w.acquire();
        PrefixCacheModel.Lookup lookup = caches[i].lookupAndStore(prompt);
        hitTokens += lookup.cachedTokens();
        promptTokens += lookup.promptTokens();
        double ms = (lookup.uncachedTokens() * p.prefillMsPerToken() + p.outputTokens() * p.decodeMsPerToken())
                * (1 + p.slowdown() * others);
        long us = Math.max(1, Math.round(ms * 1000));
        busyUs[i] += us;
        requests[i]++;
        latencies.add(us);
        reasons.merge(d.reason(), 1, Integer::sum);
        schedule(now + us, c, lease);
    }

    private void complete(Conversation c, Lease lease) {
        inFlight[index.get(lease.worker().id())]--;
        lease.close();
        text.appendTurn(c.history, c.id, c.turn);
        c.turn++;
        if (c.turn < p.turns()) {
            schedule(now + think(c.random), c, null);
            return;
        }
        c.history = null; // done: let it go
        if (nextConversation < p.conversations()) {
            Conversation next = newConversation();
            schedule(now + think(next.random), next, null);
        }
    }

    private long think(SplittableRandom random) {
        return Math.round(-Math.log(1 - random.nextDouble()) * p.thinkMs() * 1000);
    }

    private void schedule(long time, Conversation c, Lease lease) {
        pendingConversationEvents++;
        queue.add(new Event(time, seq++, c, lease, null));
    }

    private void scheduleAction(long time, Runnable action) {
        queue.add(new Event(time, seq++, null, null, action));
    }

    /** A cache change for the index: applied now, or after the events' lag. */
    private void toIndex(Runnable apply) {
        if (eventLagUs == 0) {
            apply.run();
        } else {
            pending.add(new Pending(now + eventLagUs, apply));
        }
    }

    /**
     * Moves the clock to {@code t}: applies the index changes due by then (at their own time), integrates max and
     * mean in-flight over the interval, runs the periodic hook.
     */
    private void advance(long t) {
        while (!pending.isEmpty() && pending.peek().time <= t) {
            Pending next = pending.poll();
            moveTo(next.time);
            next.apply.run();
        }
        moveTo(t);
        while (now >= nextTick) {
            if (tick != null) {
                tick.run();
            }
            nextTick += TICK_US;
        }
    }

    private void moveTo(long t) {
        if (t > now) {
            int max = 0;
            long sum = 0;
            for (int f : inFlight) {
                max = Math.max(max, f);
                sum += f;
            }
            double dt = t - now;
            maxInFlightArea += dt * max;
            meanInFlightArea += dt * sum / workers.size();
            now = t;
            if (virtualNanos != null) {
                virtualNanos.set(t * 1000);
            }
        }
    }

    /** A worker's prefix-cache changes applied to the index as its KV events would be: at once, or after a lag. */
    private record IndexFeed(FleetSim sim, List<dev.vllmrouter.kvindex.KvIndex> indexes, String id, int blockSize)
            implements PrefixCacheModel.Listener {
        @Override
        public void changed(int[] tokens, long[] hashes, long[] evicted, int[][] runs) {
            long[] gone = evicted.clone();
            List<Runnable> stores = new ArrayList<>(runs.length);
            for (int[] run : runs) {
                long[] stored = java.util.Arrays.copyOfRange(hashes, run[0], run[1]);
                Long parent = run[0] == 0 ? null : hashes[run[0] - 1];
                int[] ids = java.util.Arrays.copyOfRange(tokens, run[0] * blockSize, run[1] * blockSize);
                for (dev.vllmrouter.kvindex.KvIndex index : indexes) {
                    stores.add(() -> index.stored(id, stored, parent, ids, blockSize, null, null,
                            dev.vllmrouter.kvindex.Medium.GPU));
                }
            }
            sim.toIndex(() -> {
                if (gone.length > 0) {
                    for (dev.vllmrouter.kvindex.KvIndex index : indexes) {
                        index.removed(id, gone, dev.vllmrouter.kvindex.Medium.GPU);
                    }
                }
                stores.forEach(Runnable::run);
            });
        }

        @Override
        public void cleared() {
            sim.toIndex(() -> indexes.forEach(index -> index.reset(id)));
        }
    }
}
