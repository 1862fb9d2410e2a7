package dev.vllmrouter.discovery;

import java.lang.System.Logger.Level;
import java.time.Duration;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.worker.WorkerRegistry;

/**
 * ZeroMQ service discovery ({@code --vllm-discovery-address}) for P2P-NCCL and MoRI-IO engines: binds a ZeroMQ ROUTER socket that vLLM engines
 * register with (see {@link Registration}), keeps their leases ({@link LeaseTable}, 5 s), and publishes the live set to
 * the registry as the full desired state of source {@value #SOURCE} — discovered engines are workers like any other
 * (load, policies that see headers, metrics), not objects rebuilt per request as in vllm-router. The router never
 * replies on the socket.
 * <p>Under MoRI-IO ({@link MoriioFleet} given) only registrations with a transfer mode are accepted, and only those
 * agreeing with the mode the first one fixed; the fleet's view (mode, engine sizes) is published before the workers,
 * so a request never sees a worker whose sizes are not known yet.
 * <p>One daemon thread owns the socket (ZeroMQ sockets are not thread-safe); it blocks in a receive with a short
 * timeout, so expiry is noticed within {@value #POLL_MILLIS} ms without busy polling. A malformed message is logged and
 * dropped.
 */
public final class ZmqDiscovery implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ZmqDiscovery.class.getName());
    public static final String SOURCE = "zmq";
    static final Duration TTL = Duration.ofSeconds(5);
    static final int POLL_MILLIS = 200;
    static final int HANDSHAKE_MILLIS = 2000;

    private final String bindAddress;
    private final WorkerRegistry registry;
    private final RouterMetrics metrics;
    private final LeaseTable table;
    private final MoriioFleet moriio;
    private final ZContext context = new ZContext(1);
    private final ZMQ.Socket socket;
    private volatile boolean closed;
    private Thread loop;

    /** @param bindAddress {@code host:port}, e.g. {@code 0.0.0.0:30001} */
    public ZmqDiscovery(String bindAddress, WorkerRegistry registry, Ticker ticker) {
        this(bindAddress, registry, ticker, RouterMetrics.NOOP);
    }

    public ZmqDiscovery(String bindAddress, WorkerRegistry registry, Ticker ticker, RouterMetrics metrics) {
        this(bindAddress, registry, ticker, metrics, null);
    }

    /** @param moriio the MoRI-IO fleet view to keep, or {@code null} for P2P-NCCL */
    public ZmqDiscovery(String bindAddress, WorkerRegistry registry, Ticker ticker, RouterMetrics metrics,
                        MoriioFleet moriio) {
        this.moriio = moriio;
        this.metrics = metrics;
        this.bindAddress = bindAddress;
        this.registry = registry;
        this.table = new LeaseTable(ticker, TTL.toNanos());
        this.socket = context.createSocket(SocketType.ROUTER);
        socket.setReceiveTimeOut(POLL_MILLIS);
        socket.setLinger(0);
        // a connection whose ZMTP handshake stalls is dropped (and the engine reconnects) after this long, not 30 s;
        // jeromq now and then misses a read during the handshake and would otherwise sit on the connection
        socket.setHandshakeIvl(HANDSHAKE_MILLIS);
        try {
            socket.bind("tcp://" + bindAddress);
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
    }

    public ZmqDiscovery start() {
        loop = Thread.ofPlatform().daemon().name("vllm-router-zmq-discovery").start(this::run);
        LOG.log(Level.INFO, "{0} discovery listening on tcp://{1}", moriio == null ? "P2P-NCCL" : "MoRI-IO",
                bindAddress);
        return this;
    }

    private void run() {
        while (!closed) {
            try {
                ZMsg msg = ZMsg.recvMsg(socket);
                boolean changed = false;
                if (msg != null) {
                    changed = receive(msg);
                }
                changed |= table.expire();
                if (changed) {
                    if (moriio != null) {
                        moriio.publish(table.registrations());
                    }
                    WorkerRegistry.Change change = registry.reconcile(SOURCE, table.workers());
                    if (change.any()) {
                        metrics.discoveryUpdate(change.added(), change.removed());
                    }
                }
            } catch (RuntimeException e) {
                if (closed) {
                    return;
                }
                LOG.log(Level.WARNING, "discovery loop: " + e);
            }
        }
    }

    private boolean receive(ZMsg msg) {
        // [identity, payload] (a DEALER that sends an empty delimiter adds one more frame: take the last)
        byte[] payload = msg.getLast() == null ? new byte[0] : msg.getLast().getData();
        String identity = msg.size() > 1 ? new String(msg.getFirst().getData(), java.nio.charset.StandardCharsets.UTF_8)
                : "?";
        msg.destroy();
        try {
            Registration r = Registration.decode(payload);
            if (moriio != null && !moriio.accepts(r)) {
                LOG.log(Level.WARNING, "discovery: dropped a registration from {0} (http {1}): transfer mode {2}, "
                        + "the fleet runs {3}", identity, r.httpAddress(), r.transferMode(), moriio.view().mode());
                return false;
            }
            boolean changed = table.register(r);
            if (changed) {
                LOG.log(Level.INFO, "discovered {0} engine http://{1} (zmq {2}, identity {3})",
                        r.prefill() ? "prefill" : "decode", r.httpAddress(), r.zmqAddress(), identity);
            }
            return changed;
        } catch (IllegalArgumentException e) {
            LOG.log(Level.WARNING, "discovery: dropped a registration from {0}: {1}", identity, e.getMessage());
            return false;
        }
    }

    @Override
    public void close() {
        closed = true;
        if (loop != null) {
            try {
                loop.join(Duration.ofMillis(POLL_MILLIS * 5L));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        context.close();
    }
}
