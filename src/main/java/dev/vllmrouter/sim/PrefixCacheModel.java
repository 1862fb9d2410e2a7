package dev.vllmrouter.sim;

import java.util.concurrent.locks.ReentrantLock;

import dev.vllmrouter.common.Hashing;

/**
 * A model of one vLLM engine's automatic prefix cache (APC): which leading tokens of a prompt would be served
 * from cached KV blocks. Used by {@link SimWorker} for {@code usage.prompt_tokens_details.cached_tokens} and the
 * {@code vllm:prefix_cache_*} counters, and directly (no HTTP, no Helidon) by routing-quality benchmarks.
 *
 * <p>Algorithm, following vLLM v1's KV cache manager:
 * <ul>
 *   <li>Tokens: the simulator's tokenisation ({@link Tokens}): token {@code i} is characters {@code [4i, 4i+4)};
 *       the prompt has {@code max(1, ceil(chars / 4))} tokens.</li>
 *   <li>Blocks: {@code blockSize} complete tokens ({@code 4 * blockSize} characters). Only full blocks are
 *       cached; a trailing partial block (and a trailing partial token) never is.</li>
 *   <li>Block identity: a chained 64-bit hash {@code h(b) = mix(h(b-1), chars of block b)}, so a block matches
 *       only when its whole prefix matches, as with vLLM's {@code hash(parent_hash, token_ids)}. Mixing: each
 *       token's 4 characters form one 64-bit word; words go round-robin into four lanes seeded from the
 *       parent hash ({@code lane = (lane ^ word) * golden; lane ^= lane >>> 32}, four independent multiply
 *       chains), and the lanes are joined by murmur3's 64-bit finaliser. Collisions (probability about
 *       {@code blocks^2 / 2^64}) are ignored, as vLLM ignores them.</li>
 *   <li>Lookup: the hit is the longest run of leading blocks present, capped at {@code promptTokens - 1}
 *       tokens rounded down to a block: like vLLM, a fully cached prompt still recomputes its last token to
 *       get logits, so an identical prompt of exactly {@code k} blocks hits {@code k - 1} of them.</li>
 *   <li>Store (after prefill): every full block of the prompt, at most {@code capacityBlocks}, is inserted or
 *       refreshed. Blocks are touched from the last to the first, so a prompt's root blocks are the most
 *       recently used: under pressure LRU evicts chain tails first, like vLLM's free queue, which takes a
 *       finished request's blocks in reverse order (a surviving tail without its root could never hit).</li>
 *   <li>Eviction: least recently used block first, whenever more than {@code capacityBlocks} are held. Running
 *       requests do not pin blocks (the model has no notion of running requests).</li>
 * </ul>
 *
 * <p>Invariants: {@code usedBlocks() <= capacityBlocks}; {@code hitTokens <= queriedTokens}; the counters only
 * grow ({@link #reset()} drops the blocks, not the counters, as vLLM's Prometheus counters survive
 * {@code /reset_prefix_cache}).
 *
 * <p>Thread-safety: hashing runs outside the lock on the caller's thread; one {@link ReentrantLock} guards the
 * {@link BlockLru} and the counters and is held only for O(blocks of the prompt) primitive-array operations.
 * Cost: a 32 KiB prompt (512 blocks) is a few tens of microseconds, most of it hashing.
 *
 * <p>Changes: a {@link Listener} ({@link #listener(Listener)}) hears every change in cache order, under the lock: per
 * admitted prompt the blocks evicted, then the runs of blocks newly stored (as vLLM's {@code BlockRemoved} and
 * {@code BlockStored}); {@link #reset()} as a clear. The simulated worker publishes them as vLLM's KV-cache events.
 *
 * <p>Parameters: {@code blockSize} tokens per block (default {@value #DEFAULT_BLOCK_SIZE}, vLLM's default),
 * {@code capacityBlocks} (default {@value #DEFAULT_CAPACITY_BLOCKS}).
 */
public final class PrefixCacheModel {
    public static final int DEFAULT_BLOCK_SIZE = 16;
    public static final int DEFAULT_CAPACITY_BLOCKS = 8192;
    /** Largest capacity accepted (2^26 blocks, a billion tokens at block size 16). */
    public static final int MAX_CAPACITY_BLOCKS = 1 << 26;
    /** Largest block size accepted. */
    public static final int MAX_BLOCK_SIZE = 1 << 20;

    private static final long ROOT_SEED = 0x2545F4914F6CDD1DL;
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final long C1 = 0x87C37B91114253D5L;
    private static final long C2 = 0x4CF5AD432745937FL;

    private final int blockSize;
    private final int blockChars;
    private final int capacityBlocks;
    private final ReentrantLock lock = new ReentrantLock();
    /** Cached block hashes in LRU order. Guarded by {@link #lock}. */
    private final BlockLru blocks;
    private long queriedTokens;
    private long hitTokens;
    private volatile Listener listener;

    /** Hears the cache's changes, in order, while the model's lock is held: it must only hand them on. */
    public interface Listener {
        /**
         * One admitted prompt changed the cache.
         *
         * @param tokens  the prompt's token ids (block {@code b} is {@code tokens[b * blockSize, (b + 1) * blockSize)})
         * @param hashes  the chained hash of every full block of the prompt
         * @param evicted hashes of the blocks evicted to make room, in eviction order (may be empty)
         * @param runs    {@code [from, to)} ranges of {@code hashes} newly stored, ascending (may be empty)
         */
        void changed(int[] tokens, long[] hashes, long[] evicted, int[][] runs);

        /** Every block was dropped ({@link #reset()}). */
        void cleared();
    }

    /** Sets (or, with {@code null}, removes) the listener of cache changes. */
    public void listener(Listener listener) {
        this.listener = listener;
    }

    /** A model with vLLM's default block size and {@value #DEFAULT_CAPACITY_BLOCKS} blocks. */
    public PrefixCacheModel() {
        this(DEFAULT_BLOCK_SIZE, DEFAULT_CAPACITY_BLOCKS);
    }

    public PrefixCacheModel(int blockSize, int capacityBlocks) {
        if (blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
            throw new IllegalArgumentException("blockSize must be in 1.." + MAX_BLOCK_SIZE + ", got " + blockSize);
        }
        if (capacityBlocks < 1 || capacityBlocks > MAX_CAPACITY_BLOCKS) {
            throw new IllegalArgumentException(
                    "capacityBlocks must be in 1.." + MAX_CAPACITY_BLOCKS + ", got " + capacityBlocks);
        }
        this.blockSize = blockSize;
        this.blockChars = blockSize * Tokens.CHARS_PER_TOKEN;
        this.capacityBlocks = capacityBlocks;
        this.blocks = new BlockLru(capacityBlocks);
    }

    /**
     * The outcome of one prompt's lookup.
     *
     * @param cachedTokens leading prompt tokens found in the cache (a multiple of the block size)
     * @param promptTokens all prompt tokens
     */
    public record Lookup(int cachedTokens, int promptTokens) {
        /** Tokens that prefill has to compute. */
        public int uncachedTokens() {
            return promptTokens - cachedTokens;
        }
    }

    /** A consistent reading of the counters and the occupancy. */
    public record Stats(long queriedTokens, long hitTokens, int usedBlocks, int capacityBlocks) {
        /** Occupied fraction of the capacity, 0..1. */
        public double usage() {
            return usedBlocks / (double) capacityBlocks;
        }
    }

    /** The simulator's token count of a prompt text: {@code max(1, ceil(chars / 4))}. */
    public static int promptTokens(CharSequence promptText) {
        return Tokens.fromChars(promptText.length());
    }

    /**
     * Admits a prompt: counts how many leading tokens hit the cache, adds to the counters, then stores or
     * refreshes every full block of the prompt (as vLLM does once prefill has computed them).
     */
    public Lookup lookupAndStore(CharSequence promptText) {
        return admit(promptText, null, blockHashes(promptText), promptTokens(promptText));
    }

    /**
     * As {@link #lookupAndStore(CharSequence)} for a prompt given as token ids (a worker with a real tokenizer): block
     * {@code b} is {@code tokenIds[b * blockSize, (b + 1) * blockSize)}.
     */
    public Lookup lookupAndStore(int[] tokenIds) {
        return admit(null, tokenIds, blockHashes(tokenIds), Math.max(1, tokenIds.length));
    }

    /** The simulator's token ids of a text (4 characters per token; see {@code Tokens}). */
    public static int[] tokenIds(CharSequence text) {
        return Tokens.tokenIds(text);
    }

    private Lookup admit(CharSequence promptText, int[] tokenIds, long[] hashes, int promptTokens) {
        int limit = hitLimit(hashes.length, promptTokens);
        int stored = Math.min(hashes.length, capacityBlocks);
        lock.lock();
        try {
            int hit = leadingHits(hashes, limit);
            Listener l = listener;
            if (l == null) {
                for (int i = stored - 1; i >= 0; i--) {
                    blocks.touch(hashes[i]);
                }
            } else {
                storeReporting(l, tokenIds != null ? tokenIds : Tokens.tokenIds(promptText), hashes, stored);
            }
            int cached = hit * blockSize;
            queriedTokens += promptTokens;
            hitTokens += cached;
            return new Lookup(cached, promptTokens);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The tokens {@link #lookupAndStore} would report as cached right now, without storing anything, touching
     * the LRU order or counting a query.
     */
    public int cachedPrefixTokens(CharSequence promptText) {
        long[] hashes = blockHashes(promptText);
        int limit = hitLimit(hashes.length, promptTokens(promptText));
        lock.lock();
        try {
            return leadingHits(hashes, limit) * blockSize;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The store loop of {@link #lookupAndStore} when a listener hears changes: the same touches, noting which blocks
     * were new and which were evicted. A block of this prompt that was evicted by an earlier touch of the same loop and
     * stored again is reported removed, then stored, which is the order the changes happened in.
     */
    private void storeReporting(Listener l, int[] tokens, long[] hashes, int stored) {
        boolean[] fresh = new boolean[stored];
        long[] evicted = new long[4];
        int evictedCount = 0;
        boolean any = false;
        for (int i = stored - 1; i >= 0; i--) {
            int outcome = blocks.touch(hashes[i]);
            if (outcome != BlockLru.PRESENT) {
                fresh[i] = true;
                any = true;
            }
            if (outcome == BlockLru.EVICTED) {
                if (evictedCount == evicted.length) {
                    evicted = java.util.Arrays.copyOf(evicted, evictedCount * 2);
                }
                evicted[evictedCount++] = blocks.lastEvicted();
            }
        }
        if (!any) {
            return;
        }
        java.util.List<int[]> runs = new java.util.ArrayList<>();
        for (int i = 0; i < stored; i++) {
            if (fresh[i]) {
                int from = i;
                while (i < stored && fresh[i]) {
                    i++;
                }
                runs.add(new int[] {from, i});
            }
        }
        l.changed(tokens, hashes, java.util.Arrays.copyOf(evicted, evictedCount),
                runs.toArray(int[][]::new));
    }

    /** Drops every cached block ({@code POST /reset_prefix_cache}); the counters keep counting. */
    public void reset() {
        lock.lock();
        try {
            blocks.clear();
            Listener l = listener;
            if (l != null) {
                l.cleared();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Prompt tokens looked up so far ({@code vllm:prefix_cache_queries_total}). */
    public long queriedTokens() {
        return stats().queriedTokens();
    }

    /** Prompt tokens served from the cache so far ({@code vllm:prefix_cache_hits_total}). */
    public long hitTokens() {
        return stats().hitTokens();
    }

    /** Blocks held now. */
    public int usedBlocks() {
        return stats().usedBlocks();
    }

    public Stats stats() {
        lock.lock();
        try {
            return new Stats(queriedTokens, hitTokens, blocks.size(), capacityBlocks);
        } finally {
            lock.unlock();
        }
    }

    public int blockSize() {
        return blockSize;
    }

    public int capacityBlocks() {
        return capacityBlocks;
    }

    /** As {@link #cachedPrefixTokens(CharSequence)} for a prompt given as token ids. */
    public int cachedPrefixTokens(int[] tokenIds) {
        long[] hashes = blockHashes(tokenIds);
        int limit = hitLimit(hashes.length, Math.max(1, tokenIds.length));
        lock.lock();
        try {
            return leadingHits(hashes, limit) * blockSize;
        } finally {
            lock.unlock();
        }
    }

    /** The chained hash of every full block of a prompt given as token ids: one id per word. */
    long[] blockHashes(int[] ids) {
        int full = ids.length / blockSize;
        long[] hashes = new long[full];
        long h = ROOT_SEED ^ GOLDEN;
        for (int b = 0; b < full; b++) {
            long a = h;
            long c = h ^ C1;
            int end = (b + 1) * blockSize;
            for (int i = b * blockSize; i < end; i++) {
                if ((i & 1) == 0) {
                    a = lane(a, ids[i] & 0xFFFFFFFFL);
                } else {
                    c = lane(c, ids[i] & 0xFFFFFFFFL);
                }
            }
            h = Hashing.fmix64(a ^ Long.rotateLeft(c, 32) ^ blockSize);
            hashes[b] = h;
        }
        return hashes;
    }

    /** Counts leading blocks present, up to {@code limit}, leaving the LRU order alone. */
    private int leadingHits(long[] hashes, int limit) {
        int hit = 0;
        while (hit < limit && blocks.contains(hashes[hit])) {
            hit++;
        }
        return hit;
    }

    /** Full blocks a hit may cover: vLLM recomputes at least the last prompt token. */
    private int hitLimit(int fullBlocks, int promptTokens) {
        return Math.min(fullBlocks, (promptTokens - 1) / blockSize);
    }

    /** The chained hash of every full block of the text, in order. Pure; runs outside the lock. */
    long[] blockHashes(CharSequence text) {
        int full = text.length() / blockChars;
        long[] hashes = new long[full];
        char[] chars = fullBlockChars(text, full * blockChars);
        long h = ROOT_SEED;
        for (int b = 0; b < full; b++) {
            h = hashBlock(h, chars, b * blockChars, blockChars);
            hashes[b] = h;
        }
        return hashes;
    }

    /** One bulk copy: {@code getChars} is an intrinsic, far cheaper than a {@code charAt} per character. */
    private static char[] fullBlockChars(CharSequence text, int n) {
        char[] chars = new char[n];
        if (text instanceof String s) {
            s.getChars(0, n, chars, 0);
        } else if (text instanceof StringBuilder sb) {
            sb.getChars(0, n, chars, 0);
        } else {
            for (int i = 0; i < n; i++) {
                chars[i] = text.charAt(i);
            }
        }
        return chars;
    }

    /**
     * One block ({@code len} characters, a multiple of 4, from {@code off}): four lanes seeded from the parent
     * take the words round-robin, each {@code (lane ^ word) * golden} then a xor-shift; joined by fmix64.
     */
    private static long hashBlock(long parent, char[] c, int off, int len) {
        long a = parent;
        long b = parent ^ C1;
        long d = parent ^ C2;
        long e = ~parent;
        int end = off + len;
        int i = off;
        for (; i + 16 <= end; i += 16) {
            a = lane(a, word(c, i));
            b = lane(b, word(c, i + 4));
            d = lane(d, word(c, i + 8));
            e = lane(e, word(c, i + 12));
        }
        if (i < end) {
            a = lane(a, word(c, i));
        }
        if (i + 4 < end) {
            b = lane(b, word(c, i + 4));
        }
        if (i + 8 < end) {
            d = lane(d, word(c, i + 8));
        }
        return Hashing.fmix64(a ^ Long.rotateLeft(b, 16) ^ Long.rotateLeft(d, 32) ^ Long.rotateLeft(e, 48) ^ len);
    }

    private static long word(char[] c, int i) {
        return c[i] | (long) c[i + 1] << 16 | (long) c[i + 2] << 32 | (long) c[i + 3] << 48;
    }

    private static long lane(long h, long word) {
        h = (h ^ word) * GOLDEN;
        return h ^ (h >>> 32);
    }
}
