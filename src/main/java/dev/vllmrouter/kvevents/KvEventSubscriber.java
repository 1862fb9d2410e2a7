package dev.vllmrouter.kvevents;

import java.lang.System.Logger.Level;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.kvindex.KvIndex;
import dev.vllmrouter.worker.Role;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerSnapshot;

/**
 * Follows every worker's vLLM KV-event publisher and keeps the {@link KvIndex} in step with what each one caches.
 *
 * <p>Sources: one ZeroMQ SUB socket per registered worker that prefill can reach (regular and prefill roles; decode
 * workers of PD are not subscribed), at {@code tcp://<worker host>:<port + DP rank>}, subscribed to the configured
 * topic prefix. The set follows the registry's snapshots (static list, admin API, Kubernetes and ZeroMQ discovery all
 * publish there); a worker that leaves has its socket closed and its blocks dropped from the index.
 *
 * <p>Per source, in arrival order: the sequence number decides ({@link SequenceTracker}). The first batch is applied;
 * if it is not batch 0 the router joined a running engine, and a replay from 0 ({@code --kv-events-replay-port}) is
 * tried, else the source is degraded. A jump is closed by a replay from the expected number when the engine buffers
 * it, else the source's blocks are dropped and it is degraded. A number that goes back is a new engine (a restart):
 * the source's blocks are dropped and the stream starts over. A batch that does not decode drops the source's blocks
 * too (the index must never claim blocks the engine may have dropped). A socket monitor reports the TCP connection; a
 * source without a connection, without a batch since it came back, or without a batch for the stale time while
 * requests were sent to its worker is in fallback ({@link KvSource#refresh}).
 *
 * <p>Threading: one daemon platform thread owns the ZeroMQ context's sockets (they are not thread-safe) and is the
 * index's only event writer; it polls all sockets with a {@value #POLL_MILLIS} ms timeout, so registry changes and
 * state changes are seen within that time. A replay blocks the thread for at most {@link #REPLAY_TIMEOUT}. Readers
 * ({@link #status}, {@link #statuses}) read volatile fields and take no lock of the thread.
 */
public final class KvEventSubscriber implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(KvEventSubscriber.class.getName());
    static final int POLL_MILLIS = 100;
    static final Duration REPLAY_TIMEOUT = Duration.ofSeconds(2);
    private static final int HANDSHAKE_MILLIS = 2000;
    private static final int RECEIVE_HWM = 100_000;
    private static final int DRAIN_LIMIT = 10_000;

    private final KvEventsConfig config;
    private final Supplier<WorkerSnapshot> snapshots;
    private final KvIndex index;
    private final Ticker ticker;
    private final ZContext context = new ZContext(1);
    private final Map<String, KvSource> sources = new ConcurrentHashMap<>();
    private final Map<String, Sockets> sockets = new HashMap<>(); // owned by the loop thread
    private final byte[] topic;
    private volatile boolean closed;
    private Thread loop;
    private int monitors;

    private record Sockets(KvSource source, ZMQ.Socket sub, ZMQ.Socket monitor) {
    }

    public KvEventSubscriber(KvEventsConfig config, Supplier<WorkerSnapshot> snapshots, KvIndex index, Ticker ticker) {
        this.config = config;
        this.snapshots = snapshots;
        this.index = index;
        this.ticker = ticker;
        this.topic = config.topic().getBytes(StandardCharsets.UTF_8);
    }

    public KvEventSubscriber start() {
        loop = Thread.ofPlatform().daemon().name("vllm-router-kv-events").start(this::run);
        LOG.log(Level.INFO, "KV events: subscribing to each worker at port {0} + DP rank{1}",
                String.valueOf(config.port()), config.replayPort() < 0 ? " (no replay)"
                        : ", replay at port " + config.replayPort() + " + DP rank");
        return this;
    }

    public KvIndex index() {
        return index;
    }

    /** The stream of worker {@code workerId}, or {@code null} when it is not subscribed. */
    public SourceStatus status(String workerId) {
        KvSource s = sources.get(workerId);
        return s == null ? null : s.status(ticker.nanos(), index.blocks(workerId));
    }

    /** Every subscribed source's stream. */
    public List<SourceStatus> statuses() {
        long now = ticker.nanos();
        List<SourceStatus> out = new ArrayList<>();
        for (KvSource s : sources.values()) {
            out.add(s.status(now, index.blocks(s.id)));
        }
        return out;
    }

    /** The state of worker {@code workerId}: {@link SourceState#FALLBACK} when it is not subscribed. */
    public SourceState state(String workerId) {
        KvSource s = sources.get(workerId);
        return s == null ? SourceState.FALLBACK : s.state;
    }

    /**
     * Hook for the closed loop (comparing predicted cached tokens with the {@code cached_tokens} workers report):
     * demotes a source to degraded while its predictions keep missing, or lifts that.
     */
    public void demote(String workerId, boolean on) {
        KvSource s = sources.get(workerId);
        if (s != null) {
            s.demote(on);
        }
    }

    private void run() {
        long seenVersion = -1;
        ZMQ.Poller poller = null;
        List<Sockets> polled = List.of();
        long lastExpiry = ticker.nanos();
        try {
            while (!closed) {
                try {
                    WorkerSnapshot snapshot = snapshots.get();
                    if (snapshot.version() != seenVersion || poller == null) {
                        reconcile(snapshot);
                        seenVersion = snapshot.version();
                        if (poller != null) {
                            poller.close();
                        }
                        polled = List.copyOf(sockets.values());
                        poller = context.createPoller(polled.size() * 2);
                        for (Sockets s : polled) {
                            poller.register(s.sub(), ZMQ.Poller.POLLIN);
                            poller.register(s.monitor(), ZMQ.Poller.POLLIN);
                        }
                    }
                    if (polled.isEmpty()) {
                        LockSupport.parkNanos(POLL_MILLIS * 1_000_000L);
                    } else if (poller.poll(POLL_MILLIS) > 0) {
                        for (int i = 0; i < polled.size(); i++) {
                            if (poller.pollin(2 * i + 1)) {
                                monitorEvents(polled.get(i));
                            }
                            if (poller.pollin(2 * i)) {
                                drain(polled.get(i));
                            }
                        }
                    }
                    long now = ticker.nanos();
                    long stale = config.staleAfter().toNanos();
                    for (KvSource s : sources.values()) {
                        s.refresh(now, stale);
                    }
                    if (now - lastExpiry > 1_000_000_000L) {
                        index.expireSpeculation();
                        lastExpiry = now;
                    }
                } catch (RuntimeException e) {
                    if (closed) {
                        return;
                    }
                    LOG.log(Level.WARNING, "KV events loop: " + e, e);
                }
            }
        } finally {
            if (poller != null) {
                poller.close();
            }
            for (Sockets s : sockets.values()) {
                s.sub().close();
                s.monitor().close();
            }
            sockets.clear();
        }
    }

    /** Opens a source for every new worker, closes and forgets the ones that left (or were replaced). */
    private void reconcile(WorkerSnapshot snapshot) {
        Set<String> wanted = new HashSet<>();
        for (Worker w : snapshot.workers()) {
            if (w.role() == Role.DECODE) {
                continue;
            }
            wanted.add(w.id());
            KvSource known = sources.get(w.id());
            if (known != null && known.worker != w) {
                drop(w.id());
                known = null;
            }
            if (known == null) {
                open(w);
            }
        }
        for (String id : List.copyOf(sources.keySet())) {
            if (!wanted.contains(id)) {
                drop(id);
                LOG.log(Level.INFO, "KV events: {0} left the fleet; its socket and index entries are gone", id);
            }
        }
    }

    private void open(Worker w) {
        String host = URI.create(w.baseUrl()).getHost();
        int rank = Math.max(0, w.dpRank());
        String endpoint = "tcp://" + host + ":" + (config.port() + rank);
        String replay = config.replayPort() < 0 ? null : "tcp://" + host + ":" + (config.replayPort() + rank);
        KvSource source = new KvSource(w, endpoint, replay);
        ZMQ.Socket sub = context.createSocket(SocketType.SUB);
        sub.setLinger(0);
        sub.setRcvHWM(RECEIVE_HWM);
        sub.setHandshakeIvl(HANDSHAKE_MILLIS);
        sub.setReconnectIVL(200);
        sub.setReconnectIVLMax(2000);
        if (host.startsWith("[")) {
            sub.setIPv6(true);
        }
        String monitorAddress = "inproc://kv-events-monitor-" + (monitors++);
        sub.monitor(monitorAddress, ZMQ.EVENT_CONNECTED | ZMQ.EVENT_DISCONNECTED);
        ZMQ.Socket monitor = context.createSocket(SocketType.PAIR);
        monitor.setLinger(0);
        monitor.connect(monitorAddress);
        sub.subscribe(topic);
        sub.connect(endpoint);
        index.addSource(w.id());
        sources.put(w.id(), source);
        sockets.put(w.id(), new Sockets(source, sub, monitor));
        LOG.log(Level.INFO, "KV events: {0} subscribed at {1}", w.id(), endpoint);
    }

    private void drop(String id) {
        Sockets s = sockets.remove(id);
        if (s != null) {
            s.sub().close();
            s.monitor().close();
        }
        sources.remove(id);
        index.removeSource(id);
    }

    private void monitorEvents(Sockets s) {
        ZMQ.Event event;
        while ((event = ZMQ.Event.recv(s.monitor(), ZMQ.DONTWAIT)) != null) {
            if (event.getEvent() == ZMQ.EVENT_CONNECTED) {
                s.source().connected = true;
                joinReplay(s.source());
            } else if (event.getEvent() == ZMQ.EVENT_DISCONNECTED) {
                s.source().disconnected();
                LOG.log(Level.WARNING, "KV events: lost the connection to {0} ({1}); fallback until its next batch",
                        s.source().endpoint, s.source().id);
            }
        }
    }

    private void drain(Sockets s) {
        for (int i = 0; i < DRAIN_LIMIT; i++) {
            ZMsg msg = ZMsg.recvMsg(s.sub(), ZMQ.DONTWAIT);
            if (msg == null) {
                return;
            }
            receive(s.source(), msg);
        }
    }

    /** One message: {@code [topic, seq (8 bytes, big-endian), payload]}. */
    void receive(KvSource src, ZMsg msg) {
        if (msg.size() != 3 || msg.toArray(new org.zeromq.ZFrame[0])[1].size() != 8) {
            src.decodeErrors++;
            LOG.log(Level.WARNING, "KV events from {0}: a message of {1} frames, expected [topic, seq, payload]",
                    src.id, msg.size());
            msg.destroy();
            return;
        }
        msg.pop();
        long seq = ByteBuffer.wrap(msg.pop().getData()).getLong();
        byte[] payload = msg.pop().getData();
        switch (src.sequence.observe(seq)) {
            case NEXT -> applyPayload(src, seq, payload);
            case DUPLICATE -> { }
            case FIRST -> start(src, seq, payload);
            case GAP -> gap(src, seq, payload);
            case REGRESSION -> {
                LOG.log(Level.INFO, "KV events from {0}: batch {1} after {2}: the engine restarted; its blocks are "
                        + "dropped", src.id, seq, src.sequence.expected() - 1);
                src.resets++;
                index.reset(src.id);
                src.sequence.restart();
                start(src, seq, payload);
            }
        }
    }

    /**
     * On the first connection to a source with a replay endpoint: asks the engine for everything it buffered, so that a
     * router that starts (or restarts) next to running engines knows their caches at once instead of at their next
     * batch. An empty buffer means the engine has published nothing: its cache is empty, which the index knows
     * exactly. A buffer that no longer reaches back to batch 0 is applied all the same (the index is then incomplete,
     * degraded: it may under-report, never over-report). Live batches the replay covered are skipped as copies; one
     * lost between the replay and the subscription shows as a gap and is replayed in turn.
     */
    private void joinReplay(KvSource src) {
        if (src.replayEndpoint == null || src.joinReplayTried || src.sequence.expected() >= 0) {
            return;
        }
        src.joinReplayTried = true;
        List<ReplayClient.Replayed> got = ReplayClient.fetch(context, src.replayEndpoint, 0, REPLAY_TIMEOUT);
        if (got == null) {
            src.replayFailures++;
            LOG.log(Level.WARNING, "KV events from {0}: no answer to the replay at {1}; its index starts at its next "
                    + "batch", src.id, src.replayEndpoint);
            return;
        }
        long now = ticker.nanos();
        if (got.isEmpty()) {
            src.knownEmpty(now);
            LOG.log(Level.INFO, "KV events from {0}: nothing published yet, the index is exact", src.id);
            return;
        }
        long first = got.get(0).seq();
        long expect = first;
        for (ReplayClient.Replayed r : got) {
            if (r.seq() != expect) {
                break;
            }
            applyPayload(src, r.seq(), r.payload());
            expect++;
        }
        src.sequence.replayed(first);
        src.replays++;
        if (first == 0) {
            src.markComplete();
        } else {
            src.markIncomplete("joined the engine at batch " + first + " (its replay buffer reaches back no further)");
        }
        LOG.log(Level.INFO, "KV events from {0}: caught up on joining, batches {1}..{2}", src.id, first, expect - 1);
    }

    /** The first batch of a stream (after subscribing, or from a restarted engine). */
    private void start(KvSource src, long seq, byte[] payload) {
        if (seq == 0) {
            src.markComplete();
        } else if (catchUp(src, 0)) {
            src.markComplete();
        } else {
            src.markIncomplete("joined the engine at batch " + seq + (src.replayEndpoint == null ? ""
                    : " and the replay did not reach back to batch 0"));
        }
        if (src.sequence.expected() <= seq) {
            applyPayload(src, seq, payload);
        }
    }

    private void gap(KvSource src, long seq, byte[] payload) {
        src.gaps++;
        long from = src.sequence.expected();
        if (!catchUp(src, from)) {
            LOG.log(Level.WARNING, "KV events from {0}: batches {1}..{2} were lost{3}; its blocks are dropped",
                    src.id, from, seq - 1, src.replayEndpoint == null ? "" : " and could not be replayed");
            src.resets++;
            index.reset(src.id);
            src.markIncomplete("batches " + from + ".." + (seq - 1) + " were lost");
        }
        if (src.sequence.expected() <= seq) {
            applyPayload(src, seq, payload);
        }
    }

    /** Replays from {@code from}; whether the batches came back without a hole (they are applied then). */
    private boolean catchUp(KvSource src, long from) {
        if (src.replayEndpoint == null) {
            return false;
        }
        List<ReplayClient.Replayed> got = ReplayClient.fetch(context, src.replayEndpoint, from, REPLAY_TIMEOUT);
        if (got == null || got.isEmpty() || got.get(0).seq() != from) {
            src.replayFailures++;
            LOG.log(Level.WARNING, "KV events from {0}: replay from {1} at {2}: {3}", src.id, from,
                    src.replayEndpoint, got == null ? "no answer" : got.isEmpty() ? "nothing buffered"
                            : "the engine buffers only from batch " + got.get(0).seq());
            return false;
        }
        long expect = from;
        for (ReplayClient.Replayed r : got) {
            if (r.seq() != expect) {
                src.replayFailures++;
                return false;
            }
            applyPayload(src, r.seq(), r.payload());
            expect++;
        }
        src.sequence.replayed(from);
        src.replays++;
        LOG.log(Level.INFO, "KV events from {0}: replayed batches {1}..{2}", src.id, from, expect - 1);
        return true;
    }

    private void applyPayload(KvSource src, long seq, byte[] payload) {
        long now = ticker.nanos();
        try {
            src.apply(seq, KvEventDecoder.decode(payload), index, now);
        } catch (IllegalArgumentException e) {
            src.decodeErrors++;
            src.resets++;
            index.reset(src.id);
            src.markIncomplete("batch " + seq + " could not be decoded");
            src.received(seq, now);
            LOG.log(Level.WARNING, "KV events from {0}: batch {1} could not be decoded ({2}); its blocks are dropped",
                    src.id, seq, e.getMessage());
        }
    }

    @Override
    public void close() {
        closed = true;
        if (loop != null) {
            try {
                loop.join(Duration.ofMillis(POLL_MILLIS * 20L));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        context.close();
    }
}
