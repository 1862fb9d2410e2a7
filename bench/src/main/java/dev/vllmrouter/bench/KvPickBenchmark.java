package dev.vllmrouter.bench;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.config.PolicyConfig;
import dev.vllmrouter.kvevents.SourceState;
import dev.vllmrouter.kvindex.BlockKeys;
import dev.vllmrouter.kvindex.KvIndex;
import dev.vllmrouter.kvindex.Medium;
import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.CacheAwarePolicy;
import dev.vllmrouter.policy.Decision;
import dev.vllmrouter.policy.KvAwarePolicy;
import dev.vllmrouter.policy.Picker;
import dev.vllmrouter.policy.PromptIds;
import dev.vllmrouter.policy.RoutingKey;
import dev.vllmrouter.sim.PrefixCacheModel;
import dev.vllmrouter.worker.Worker;
import dev.vllmrouter.worker.WorkerRegistry;

/**
 * The pick path of cache_aware with the KV-event index ({@link KvAwarePolicy}), token ids given (tokenization is
 * measured apart: {@link TokenizeBenchmark}). The index holds {@code blocksPerWorker} blocks for each of
 * {@code workers} workers (chains of 64 random blocks, block size 16), plus {@value #PROMPTS} prompts of
 * {@code promptSize} chars (the simulator's ids: 4 chars a token), each held whole by one worker, half by the next and
 * a quarter by the one after, so a look-up walks the whole chain. Workers report fixed queues of 0–3.
 * <ul>
 *   <li>{@code pick}: one whole decision: the block keys of the prompt, the index look-up, the cost of each worker,
 *       the text inserted into the fallback tree, the speculative entries of the winner;</li>
 *   <li>{@code lookup}: {@link KvIndex#lookup} alone (keys + walk);</li>
 *   <li>{@code keys}: {@link BlockKeys#chain} alone (the chained hash of the prompt's blocks).</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class KvPickBenchmark {
    static final int PROMPTS = 16;
    static final int BLOCK_SIZE = 16;
    static final int CHAIN = 64;

    @Param({"2048", "32768", "131072"})
    public int promptSize;

    @Param({"8"})
    public int workers;

    @Param({"100000"})
    public int blocksPerWorker;

    private Picker picker;
    private KvIndex index;
    private Key[] keys;

    /** A chat request's routing key with its token ids computed up front. */
    record Key(String promptText, PromptIds promptIds) implements RoutingKey {
        @Override
        public String route() {
            return BenchKey.ROUTE;
        }

        @Override
        public String model() {
            return null;
        }

        @Override
        public String header(String lowerCaseName) {
            return null;
        }

        @Override
        public String bodySessionKey() {
            return null;
        }

        @Override
        public String conversationKey() {
            return null;
        }
    }

    /** Each benchmark thread walks the keys on its own. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;
    }

    @Setup(Level.Trial)
    public void setUp() {
        WorkerRegistry registry = Fleet.of(workers);
        List<Worker> ws = registry.snapshot().workers();
        Fleet.setStaticLoads(ws, 3, 7);
        index = new KvIndex(Ticker.system(), KvIndex.DEFAULT_MAX_BLOCKS);
        SplittableRandom random = new SplittableRandom(42);
        for (Worker w : ws) {
            index.addSource(w.id());
            int[] tokens = new int[CHAIN * BLOCK_SIZE];
            for (int stored = 0; stored < blocksPerWorker; stored += CHAIN) {
                for (int t = 0; t < tokens.length; t++) {
                    tokens[t] = random.nextInt(150_000);
                }
                index.stored(w.id(), engineHashes(random, CHAIN), null, tokens, BLOCK_SIZE, null, null, Medium.GPU);
            }
        }
        ChatText text = new ChatText(42, PickFixture.SYSTEM_CHARS, PickFixture.MESSAGE_CHARS,
                PickFixture.MESSAGE_CHARS);
        keys = new Key[PROMPTS];
        for (int i = 0; i < PROMPTS; i++) {
            String prompt = text.promptOfSize(i, promptSize);
            int[] ids = PrefixCacheModel.tokenIds(prompt);
            keys[i] = new Key(prompt, new PromptIds(ids, null));
            int blocks = ids.length / BLOCK_SIZE;
            for (int share = 0; share < 3; share++) {
                int n = blocks >> share;
                int[] held = java.util.Arrays.copyOf(ids, n * BLOCK_SIZE);
                index.stored(ws.get((i + share) % ws.size()).id(), engineHashes(random, n), null, held, BLOCK_SIZE,
                        null, null, Medium.GPU);
            }
        }
        KvAwarePolicy policy = new KvAwarePolicy(new CacheAwarePolicy(PolicyConfig.defaults("cache_aware")), index,
                id -> SourceState.EXACT);
        picker = policy.newPicker(registry.snapshot(), null);
        for (Key k : keys) {
            picker.pick(k, Attempt.first());
        }
    }

    private static long[] engineHashes(SplittableRandom random, int n) {
        long[] h = new long[n];
        for (int i = 0; i < n; i++) {
            h[i] = random.nextLong();
        }
        return h;
    }

    @Benchmark
    public Decision pick(Cursor cursor) {
        return picker.pick(keys[cursor.next++ & (PROMPTS - 1)], Attempt.first());
    }

    @Benchmark
    public Object lookup(Cursor cursor) {
        return index.lookup(keys[cursor.next++ & (PROMPTS - 1)].promptIds().tokens(), BLOCK_SIZE, null, null);
    }

    @Benchmark
    public long[] keys(Cursor cursor) {
        return BlockKeys.chain(keys[cursor.next++ & (PROMPTS - 1)].promptIds().tokens(), BLOCK_SIZE, null, null);
    }
}
