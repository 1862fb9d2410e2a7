package dev.vllmrouter.sim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * Registers a simulated worker with a router's P2P-NCCL discovery socket the way vLLM's {@code P2pNcclEngine} does:
 * a ZeroMQ DEALER whose identity is the engine's KV-transfer address sends one msgpack map
 * {@code {"type": "P"|"D", "http_address": "host:port", "zmq_address": "host:port"}} every 3 s, until closed.
 * As a MoRI-IO engine ({@link #moriio}) the map is the one vLLM's {@code MoRIIOConnector} sends: its zmq address is
 * {@code host:IP,handshake:PORT,notify:PORT}, plus {@code dp_size}, {@code tp_size} and {@code transfer_mode}.
 * One single-thread scheduler owns the socket.
 */
public final class SimRegistrar implements AutoCloseable {
    static final long PERIOD_MILLIS = 3000;

    private final ZContext context = new ZContext(1);
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sim-registrar");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param router      the router's discovery address {@code host:port}
     * @param prefill     registers as {@code "P"} (prefill) or {@code "D"} (decode)
     * @param httpAddress this worker's {@code host:port}
     * @param zmqAddress  the KV-transfer address announced (and used as the socket identity)
     */
    public SimRegistrar(String router, boolean prefill, String httpAddress, String zmqAddress) {
        this(router, message(prefill ? "P" : "D", httpAddress, zmqAddress), zmqAddress);
    }

    /** Registers {@code worker} as a MoRI-IO engine in its {@link SimMoriio#mode()} (tp and dp size 1). */
    public static SimRegistrar moriio(String router, boolean prefill, SimWorker worker) {
        String zmq = worker.moriio().zmqAddress();
        return new SimRegistrar(router, moriioMessage(prefill ? "P" : "D", worker.config().host() + ":"
                + worker.port(), zmq, 1, 1, worker.moriio().mode().name()), zmq);
    }

    private SimRegistrar(String router, byte[] message, String zmqAddress) {
        ZMQ.Socket socket = context.createSocket(SocketType.DEALER);
        socket.setIdentity(zmqAddress.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        socket.setLinger(0);
        // jeromq's DEALER now and then misses the peer's greeting and sits on the connection: give up on a handshake
        // after 500 ms and reconnect, instead of jeromq's 30 s
        socket.setHandshakeIvl(500);
        socket.connect("tcp://" + router);
        // a task that throws is never run again: one failed send must not end the heartbeats
        scheduler.scheduleAtFixedRate(() -> {
            try {
                socket.send(message, ZMQ.DONTWAIT);
            } catch (RuntimeException e) {
                System.getLogger(SimRegistrar.class.getName()).log(System.Logger.Level.WARNING,
                        "registration not sent: " + e);
            }
        }, 0, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** One registration as vLLM's P2pNcclEngine encodes it: a msgpack map of three strings. */
    public static byte[] message(String type, String http, String zmq) {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            p.packMapHeader(3);
            p.packString("type").packString(type);
            p.packString("http_address").packString(http);
            p.packString("zmq_address").packString(zmq);
            return p.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One registration as vLLM's MoRIIOConnector encodes it. */
    public static byte[] moriioMessage(String type, String http, String zmq, int tpSize, int dpSize, String mode) {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            p.packMapHeader(6);
            p.packString("type").packString(type);
            p.packString("http_address").packString(http);
            p.packString("zmq_address").packString(zmq);
            p.packString("dp_size").packInt(dpSize);
            p.packString("tp_size").packInt(tpSize);
            p.packString("transfer_mode").packString(mode);
            return p.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        context.close();
    }
}
