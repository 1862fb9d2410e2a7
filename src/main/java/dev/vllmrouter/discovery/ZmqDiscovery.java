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
 * P2P-NCCL service discovery ({@code --vllm-discovery-address}): binds a ZeroMQ ROUTER socket that vLLM engines
 * register with (see {@link Registration}), keeps their leases ({@link LeaseTable}, 5 s), and publishes the live set to
 * the registry as the full desired state of source {@value #SOURCE} — discovered engines are workers like any other
 * (load, policies that see headers, metrics), not objects rebuilt per request as in vllm-router. The router never
 * replies on the socket.
 * <p>One daemon thread owns the socket (ZeroMQ sockets are not thread-safe); it blocks in a receive with a short
 * timeout, so expiry is noticed within {@value #POLL_MILLIS} ms without busy polling. A malformed message is logged and
 * dropped.
 */
public final class ZmqDiscovery implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ZmqDiscovery.class.getName());
    public static final String SOURCE = "zmq";
    static final Duration TTL = Duration.ofSeconds(5);
    static final int POLL_MILLIS = 200;

    private final String bindAddress;
    private final WorkerRegistry registry;
    private final RouterMetrics metrics;
    private final LeaseTable table;
    private final ZContext context = new ZContext(1);
    private final ZMQ.Socket socket;
    private volatile boolean closed;
    private Thread loop;

    /** @param bindAddress {@code host:port}, e.g. {@code 0.0.0.0:30001} */
    public ZmqDiscovery(String bindAddress, WorkerRegistry registry, Ticker ticker) {
        this(bindAddress, registry, ticker, RouterMetrics.NOOP);
    }

    public ZmqDiscovery(String bindAddress, WorkerRegistry registry, Ticker ticker, RouterMetrics metrics) {
        this.metrics = metrics;
        this.bindAddress = bindAddress;
        this.registry = registry;
        this.table = new LeaseTable(ticker, TTL.toNanos());
        this.socket = context.createSocket(SocketType.ROUTER);
        socket.setReceiveTimeOut(POLL_MILLIS);
        socket.setLinger(0);
        try {
            socket.bind("tcp://" + bindAddress);
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
    }

    public ZmqDiscovery start() {
        loop = Thread.ofPlatform().daemon().name("vllm-router-zmq-discovery").start(this::run);
        LOG.log(Level.INFO, "P2P-NCCL discovery listening on tcp://{0}", bindAddress);
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
