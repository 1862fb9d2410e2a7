package dev.vllmrouter.bench;

import java.io.IOException;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.kvevents.KvEvent;
import dev.vllmrouter.kvevents.KvEventDecoder;
import dev.vllmrouter.kvindex.KvIndex;
import dev.vllmrouter.kvindex.Medium;

/**
 * What one router spends on a worker's KV events (issue 14 item 5: the fan-in of every replica): one batch as a vLLM
 * engine publishes it per scheduler step, {@code blocks} new full blocks of 16 tokens (one {@code BlockStored} of a
 * chained run, the v0.9 positional encoding with uint64 hashes) and as many blocks evicted ({@code BlockRemoved}),
 * decoded ({@link KvEventDecoder}) and applied to an index of {@code sources} sources holding 100,000 blocks each, so
 * its size stays put. Per op: one batch; divide by {@code 2 × blocks} for the cost per block event.
 * <ul>
 *   <li>{@code decode}: the msgpack decoding alone;</li>
 *   <li>{@code ingest}: decoding and applying (what the subscriber thread does per batch).</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class KvIngestBenchmark {
    static final int BLOCK_SIZE = 16;
    static final int HELD = 100_000;
    static final int BATCHES = 4096;

    @Param({"8", "64"})
    public int blocks;

    @Param({"8"})
    public int sources;

    private KvIndex index;
    private byte[][] stored;
    private long[][] storedHashes;
    private byte[][] removedPayload;
    private int next;

    @Setup
    public void setUp() throws IOException {
        index = new KvIndex(Ticker.system(), sources * HELD * 2);
        SplittableRandom random = new SplittableRandom(14);
        for (int s = 0; s < sources; s++) {
            index.addSource("w" + s);
            long parent = 0;
            for (int b = 0; b < HELD; b++) {
                long h = random.nextLong();
                index.stored("w" + s, new long[] {h}, b % 64 == 0 ? null : parent, tokens(random, 1), BLOCK_SIZE,
                        null, null, Medium.GPU);
                parent = h;
            }
        }
        stored = new byte[BATCHES][];
        storedHashes = new long[BATCHES][];
        removedPayload = new byte[BATCHES][];
        for (int i = 0; i < BATCHES; i++) {
            long[] hashes = new long[blocks];
            for (int b = 0; b < blocks; b++) {
                hashes[b] = random.nextLong() | Long.MIN_VALUE; // above 2^63 as uint64, as vLLM's often are
            }
            storedHashes[i] = hashes;
            stored[i] = storedBatch(hashes, tokens(random, blocks));
        }
        for (int i = 0; i < BATCHES; i++) {
            removedPayload[i] = removedBatch(storedHashes[i]);
        }
    }

    private static int[] tokens(SplittableRandom random, int blockCount) {
        int[] t = new int[blockCount * BLOCK_SIZE];
        for (int i = 0; i < t.length; i++) {
            t[i] = random.nextInt(150_000);
        }
        return t;
    }

    /** {@code [ts, [["BlockStored", [hashes], null, [tokens], 16, null]]]}: vLLM 0.9's positional encoding. */
    private static byte[] storedBatch(long[] hashes, int[] tokenIds) throws IOException {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            p.packArrayHeader(2).packDouble(1.7e9).packArrayHeader(1);
            p.packArrayHeader(6).packString("BlockStored").packArrayHeader(hashes.length);
            for (long h : hashes) {
                p.packBigInteger(new java.math.BigInteger(Long.toUnsignedString(h)));
            }
            p.packNil().packArrayHeader(tokenIds.length);
            for (int t : tokenIds) {
                p.packInt(t);
            }
            p.packInt(BLOCK_SIZE).packNil();
            return p.toByteArray();
        }
    }

    private static byte[] removedBatch(long[] hashes) throws IOException {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            p.packArrayHeader(2).packDouble(1.7e9).packArrayHeader(1);
            p.packArrayHeader(2).packString("BlockRemoved").packArrayHeader(hashes.length);
            for (long h : hashes) {
                p.packBigInteger(new java.math.BigInteger(Long.toUnsignedString(h)));
            }
            return p.toByteArray();
        }
    }

    @Benchmark
    public Object decode() {
        int i = next++ & (BATCHES - 1);
        return KvEventDecoder.decode(stored[i]);
    }

    /** One step's batch stored on source {@code w0}, and the same blocks removed again (steady size). */
    @Benchmark
    public int ingest() {
        int i = next++ & (BATCHES - 1);
        int n = 0;
        for (KvEvent e : KvEventDecoder.decode(stored[i]).events()) {
            if (e instanceof KvEvent.BlockStored s) {
                index.stored("w0", s.blockHashes(), s.parentHash(), s.tokenIds(), s.blockSize(), s.loraName(), null,
                        Medium.GPU);
                n++;
            }
        }
        for (KvEvent e : KvEventDecoder.decode(removedPayload[i]).events()) {
            if (e instanceof KvEvent.BlockRemoved r) {
                n += index.removed("w0", r.blockHashes(), Medium.GPU);
            }
        }
        return n;
    }
}
