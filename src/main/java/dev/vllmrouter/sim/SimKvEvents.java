package dev.vllmrouter.sim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

/**
 * The simulated engine's KV-cache event publisher, in vLLM's wire format ({@code vllm/distributed/kv_events.py},
 * {@code --kv-events-config}): a ZeroMQ PUB socket bound at {@code tcp://host:port} sends {@code [topic, seq (8 bytes,
 * big-endian), msgpack batch]}, one batch per change of the {@link PrefixCacheModel} (vLLM: one per engine step), seq
 * counting from 0. An optional ROUTER at {@code replayPort} answers vLLM's replay requests from the last
 * {@value #BUFFER_STEPS} batches.
 *
 * <p>Batch {@code [ts, events, 0]}; events in one of vLLM's two encodings ({@link Encoding}): {@code BlockStored} with
 * the chained 64-bit block hashes as msgpack uint64 (values at or above 2^63 included), its parent's hash, the tokens'
 * ids ({@link Tokens#tokenId}), block size, {@code lora_id}/{@code lora_name} nil, medium {@code GPU}, one nil extra
 * key per block, group 0 and {@code full_attention}; {@code BlockRemoved} for evictions; {@code AllBlocksCleared}
 * for {@code /reset_prefix_cache}.
 *
 * <p>Threading: the model hands changes over under its lock ({@link PrefixCacheModel.Listener}) into a queue, so the
 * batches keep the cache's order; one daemon thread owns both sockets, numbers, encodes and sends the batches, and
 * serves replays, as vLLM's publisher thread does. {@link #close()} (also "the publisher died") closes both sockets.
 */
public final class SimKvEvents implements PrefixCacheModel.Listener, AutoCloseable {
    static final int BUFFER_STEPS = 10_000;
    private static final Object CLEARED = new Object();
    private static final Object STOP = new Object();

    /** vLLM's two event encodings. */
    public enum Encoding {
        /** Tagged positional arrays, vLLM 0.23 and earlier. */
        ARRAY,
        /** Tagged maps, vLLM 0.24 and later. */
        MAP;

        public static Encoding parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "array", "arrays", "v0.23" -> ARRAY;
                case "map", "maps", "v0.24" -> MAP;
                default -> throw new IllegalArgumentException("KV-event encoding '" + s + "' (expected array or map)");
            };
        }
    }

    private record Change(int[] tokens, long[] hashes, long[] evicted, int[][] runs) {
    }

    private final ZContext context = new ZContext(1);
    private final ZMQ.Socket pub;
    private final ZMQ.Socket replay;
    private final int port;
    private final int replayPort;
    private final Encoding encoding;
    private final byte[] topic;
    private final int blockSize;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final ArrayDeque<Object[]> buffer = new ArrayDeque<>(); // {Long seq, byte[] payload}, owned by the thread
    private final Thread thread;
    private volatile boolean closed;
    private volatile long published;

    /**
     * Binds the sockets and starts the publisher thread.
     *
     * @param port       PUB port, 0 for an ephemeral one
     * @param replayPort ROUTER port, 0 for an ephemeral one, -1 for none
     */
    public SimKvEvents(String host, int port, int replayPort, Encoding encoding, String topic, int blockSize) {
        this.encoding = encoding;
        this.topic = topic.getBytes(StandardCharsets.UTF_8);
        this.blockSize = blockSize;
        try {
            pub = context.createSocket(SocketType.PUB);
            pub.setLinger(0);
            pub.setSndHWM(100_000);
            this.port = bind(pub, host, port);
            if (replayPort >= 0) {
                replay = context.createSocket(SocketType.ROUTER);
                replay.setLinger(0);
                this.replayPort = bind(replay, host, replayPort);
            } else {
                replay = null;
                this.replayPort = -1;
            }
        } catch (RuntimeException e) {
            context.close();
            throw e;
        }
        thread = Thread.ofPlatform().daemon().name("sim-kv-events-" + this.port).start(this::run);
    }

    private static int bind(ZMQ.Socket socket, String host, int port) {
        String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        if (h.startsWith("[")) {
            socket.setIPv6(true);
        }
        if (port == 0) {
            return socket.bindToRandomPort("tcp://" + h);
        }
        socket.bind("tcp://" + h + ":" + port);
        return port;
    }

    public int port() {
        return port;
    }

    /** The replay port, or -1. */
    public int replayPort() {
        return replayPort;
    }

    /** Batches sent so far (the next sequence number). */
    public long published() {
        return published;
    }

    @Override
    public void changed(int[] tokens, long[] hashes, long[] evicted, int[][] runs) {
        if (!closed) {
            queue.add(new Change(tokens, hashes, evicted, runs));
        }
    }

    @Override
    public void cleared() {
        if (!closed) {
            queue.add(CLEARED);
        }
    }

    private void run() {
        long seq = 0;
        try {
            while (!closed) {
                serveReplays();
                Object next = queue.poll(20, TimeUnit.MILLISECONDS);
                if (next == null) {
                    continue;
                }
                if (next == STOP) {
                    return;
                }
                byte[] payload = encode(next);
                pub.sendMore(topic);
                pub.sendMore(ByteBuffer.allocate(8).putLong(seq).array());
                pub.send(payload);
                buffer.addLast(new Object[] {seq, payload});
                if (buffer.size() > BUFFER_STEPS) {
                    buffer.removeFirst();
                }
                published = ++seq;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            if (!closed) {
                throw e;
            }
        } finally {
            pub.close();
            if (replay != null) {
                replay.close();
            }
        }
    }

    /** vLLM's replay: {@code [id, "", start_seq]} in, each buffered {@code [id, "", seq, payload]} and the end out. */
    private void serveReplays() {
        if (replay == null) {
            return;
        }
        ZMsg req;
        while ((req = ZMsg.recvMsg(replay, ZMQ.DONTWAIT)) != null) {
            if (req.size() != 3) {
                req.destroy();
                continue;
            }
            byte[] id = req.pop().getData();
            req.pop();
            long from = ByteBuffer.wrap(req.pop().getData()).getLong();
            for (Object[] b : buffer) {
                if ((Long) b[0] >= from) {
                    replay.sendMore(id);
                    replay.sendMore(new byte[0]);
                    replay.sendMore(ByteBuffer.allocate(8).putLong((Long) b[0]).array());
                    replay.send((byte[]) b[1]);
                }
            }
            replay.sendMore(id);
            replay.sendMore(new byte[0]);
            replay.sendMore(ByteBuffer.allocate(8).putLong(-1).array());
            replay.send(new byte[0]);
        }
    }

    private byte[] encode(Object change) {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            p.packArrayHeader(3);
            p.packDouble(System.currentTimeMillis() / 1000.0);
            if (change == CLEARED) {
                p.packArrayHeader(1);
                tag(p, "AllBlocksCleared", 0);
            } else {
                Change c = (Change) change;
                p.packArrayHeader((c.evicted().length > 0 ? 1 : 0) + c.runs().length);
                if (c.evicted().length > 0) {
                    removed(p, c.evicted());
                }
                for (int[] run : c.runs()) {
                    stored(p, c, run[0], run[1]);
                }
            }
            p.packInt(0);
            return p.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The type tag: first element of an array event, or the {@code type} entry of a map event. */
    private void tag(MessageBufferPacker p, String type, int fields) throws IOException {
        if (encoding == Encoding.ARRAY) {
            p.packArrayHeader(1 + fields);
            p.packString(type);
        } else {
            p.packMapHeader(1 + fields);
            p.packString("type");
            p.packString(type);
        }
    }

    private void key(MessageBufferPacker p, String name) throws IOException {
        if (encoding == Encoding.MAP) {
            p.packString(name);
        }
    }

    private void removed(MessageBufferPacker p, long[] hashes) throws IOException {
        tag(p, "BlockRemoved", 3);
        key(p, "block_hashes");
        p.packArrayHeader(hashes.length);
        for (long h : hashes) {
            hash(p, h);
        }
        key(p, "medium");
        p.packString("GPU");
        key(p, "group_idx");
        p.packInt(0);
    }

    private void stored(MessageBufferPacker p, Change c, int from, int to) throws IOException {
        int n = to - from;
        tag(p, "BlockStored", 10);
        key(p, "block_hashes");
        p.packArrayHeader(n);
        for (int b = from; b < to; b++) {
            hash(p, c.hashes()[b]);
        }
        key(p, "parent_block_hash");
        if (from == 0) {
            p.packNil();
        } else {
            hash(p, c.hashes()[from - 1]);
        }
        key(p, "token_ids");
        p.packArrayHeader(n * blockSize);
        for (int t = from * blockSize; t < to * blockSize; t++) {
            p.packInt(c.tokens()[t]);
        }
        key(p, "block_size");
        p.packInt(blockSize);
        key(p, "lora_id");
        p.packNil();
        key(p, "medium");
        p.packString("GPU");
        key(p, "lora_name");
        p.packNil();
        key(p, "extra_keys");
        p.packArrayHeader(n);
        for (int b = 0; b < n; b++) {
            p.packNil();
        }
        key(p, "group_idx");
        p.packInt(0);
        key(p, "kv_cache_spec_kind");
        p.packString("full_attention");
    }

    /** An engine hash as msgspec writes a Python int of 64 bits: uint64 from 2^63 on. */
    private static void hash(MessageBufferPacker p, long h) throws IOException {
        if (h >= 0) {
            p.packLong(h);
        } else {
            p.packBigInteger(new BigInteger(Long.toUnsignedString(h)));
        }
    }

    /** Stops publishing and closes both sockets: to a subscriber, the engine's publisher died. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        queue.add(STOP);
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        context.close();
    }
}
