package dev.vllmrouter.kvevents;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

/**
 * A stand-in for one vLLM engine's KV-event publisher on loopback: an XPUB socket (so the test can wait until the
 * router's subscription arrived instead of losing the first messages to the slow-joiner effect) sending
 * {@code [topic, seq, payload]}, and optionally a ROUTER answering vLLM's replay requests from a buffer the test
 * controls. The PUB side is used by the test thread only; the replay side by its own thread.
 */
final class ScriptedPublisher implements AutoCloseable {
    private final ZContext context = new ZContext(1);
    private final ZMQ.Socket pub;
    private final ZMQ.Socket router;
    private final Thread replayThread;
    private final Map<Long, byte[]> buffer = new ConcurrentSkipListMap<>();
    private final AtomicInteger replayRequests = new AtomicInteger();
    private volatile boolean closed;
    final int port;
    final int replayPort;

    ScriptedPublisher(boolean replay) {
        pub = context.createSocket(SocketType.XPUB);
        pub.setLinger(0);
        port = pub.bindToRandomPort("tcp://127.0.0.1");
        if (replay) {
            router = context.createSocket(SocketType.ROUTER);
            router.setLinger(0);
            router.setReceiveTimeOut(50);
            router.setHandshakeIvl(500); // as vLLM's side would: a stalled jeromq handshake is dropped, not kept
            replayPort = router.bindToRandomPort("tcp://127.0.0.1");
            replayThread = Thread.ofPlatform().daemon().start(this::serveReplays);
        } else {
            router = null;
            replayPort = -1;
            replayThread = null;
        }
    }

    /** Blocks until a subscriber's subscription reached the publisher. */
    void awaitSubscriber(Duration timeout) {
        pub.setReceiveTimeOut((int) timeout.toMillis());
        byte[] sub = pub.recv();
        if (sub == null || sub.length == 0 || sub[0] != 1) {
            throw new AssertionError("no subscription within " + timeout);
        }
    }

    /** Publishes batch {@code seq} (and keeps it for replays). */
    void send(long seq, byte[] payload) {
        buffer.put(seq, payload);
        pub.sendMore("kv@test".getBytes(StandardCharsets.UTF_8));
        pub.sendMore(ByteBuffer.allocate(8).putLong(seq).array());
        pub.send(payload);
    }

    /** Keeps batch {@code seq} for replays without publishing it: it is lost on the wire. */
    void lose(long seq, byte[] payload) {
        buffer.put(seq, payload);
    }

    /** The replay buffer has rolled over: batches before {@code seq} are gone. */
    void forgetBefore(long seq) {
        buffer.keySet().removeIf(s -> s < seq);
    }

    int replayRequests() {
        return replayRequests.get();
    }

    /** Closes the PUB socket only: the engine's publisher died. */
    void killPublisher() {
        pub.close();
    }

    private void serveReplays() {
        while (!closed) {
            ZMsg req;
            try {
                req = ZMsg.recvMsg(router);
            } catch (RuntimeException e) {
                return;
            }
            if (req == null) {
                continue;
            }
            if (req.size() != 3) {
                continue; // vLLM ignores these
            }
            byte[] id = req.pop().getData();
            req.pop();
            long from = ByteBuffer.wrap(req.pop().getData()).getLong();
            replayRequests.incrementAndGet();
            for (Map.Entry<Long, byte[]> e : buffer.entrySet()) {
                if (e.getKey() >= from) {
                    router.sendMore(id);
                    router.sendMore(new byte[0]);
                    router.sendMore(ByteBuffer.allocate(8).putLong(e.getKey()).array());
                    router.send(e.getValue());
                }
            }
            router.sendMore(id);
            router.sendMore(new byte[0]);
            router.sendMore(ByteBuffer.allocate(8).putLong(-1).array());
            router.send(new byte[0]);
        }
    }

    @Override
    public void close() {
        closed = true;
        if (replayThread != null) {
            try {
                replayThread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        context.close();
    }
}
