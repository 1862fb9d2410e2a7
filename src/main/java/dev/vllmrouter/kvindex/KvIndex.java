package dev.vllmrouter.kvindex;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import dev.vllmrouter.common.Ticker;

/**
 * The exact prefix-cache index: which KV blocks each source (one worker, i.e. one data-parallel rank of a vLLM server)
 * holds, as its KV-cache events say, keyed by the router's own chained hash of the tokens ({@link BlockKeys}).
 *
 * <p>Algorithm. Each source keeps, in store order, its blocks by vLLM's engine hash ({@code engine hash -> own key,
 * tier mask}): a {@code BlockStored} chains its blocks' own keys from the parent's own key (found through that map, or
 * {@link BlockKeys#root} when it has no parent) and sets the medium's bit; a {@code BlockStored} without tokens (a tier
 * change of the offloading connector) resolves each engine hash through the map; {@code BlockRemoved} clears the
 * medium's bit and drops a block left in no tier; {@code AllBlocksCleared} ({@link #reset}) drops the source's blocks.
 * A shared map from own key to its {@link Holders} answers {@link #lookup}: the longest run of leading blocks each
 * source holds, in tokens, with how many of them are on the GPU.
 *
 * <p>Speculative entries ({@link #speculate}) mark a request's blocks as held by the worker it was just routed to, for
 * a short time from the injected {@link Ticker}, so a burst of one prefix does not scatter before the worker's events
 * arrive. They live apart from the event-fed blocks, count as GPU, and never change them.
 *
 * <p>Memory bound: at most {@code maxBlocks} (source, block) entries. Past it, the oldest stored block of the source
 * holding the most blocks goes ({@link Stats#evictions()}); the index then under-reports that source, never
 * over-reports. Speculative entries are bounded by {@code maxBlocks / 4}; beyond it new speculation is dropped.
 * {@link Stats#approxBytes()} estimates the heap held at {@value #BYTES_PER_BLOCK} bytes per entry.
 *
 * <p>Thread-safety: reads ({@link #lookup}, {@link #blocks}, {@link #stats}) take no lock: they read a
 * {@link ConcurrentHashMap} of immutable {@link Holders} and a volatile array of source names. Writers (the event
 * applier, one thread in production) serialise on one lock; {@link #speculate} updates its own concurrent map
 * without that lock. Two engine hashes with the same own key in one source (not produced by vLLM for the indexed
 * group) share one holder entry; removing either clears it.
 */
public final class KvIndex {
    /** Rough heap per (source, block) entry: map node, boxed keys, holder arrays, the source's ordered entry. */
    public static final int BYTES_PER_BLOCK = 200;
    public static final int DEFAULT_MAX_BLOCKS = 1 << 20;

    /**
     * What one source holds of a request's leading blocks.
     *
     * @param tokens      leading tokens held in any tier (a multiple of the block size)
     * @param gpuTokens   leading tokens held on the GPU (at most {@code tokens})
     * @param medium      the slowest tier among the held leading blocks (each block counted in its fastest tier)
     * @param speculative whether some of the run is only a routing-time guess, not yet confirmed by an event
     */
    public record Match(int tokens, int gpuTokens, Medium medium, boolean speculative) {
    }

    /**
     * @param blocks      (source, block) entries held now
     * @param maxBlocks   the bound
     * @param evictions   entries dropped for the bound since start
     * @param speculative speculative entries held now
     * @param approxBytes estimated heap of the entries
     */
    public record Stats(long blocks, long maxBlocks, long evictions, long speculative, long approxBytes) {
    }

    /** The outcome of one {@link #stored} call: blocks indexed, and blocks skipped (unknown parent or engine hash). */
    public record StoreResult(int stored, int unresolved) {
    }

    private final Ticker ticker;
    private final int maxBlocks;
    private final ConcurrentHashMap<Long, Holders> holders = new ConcurrentHashMap<>();
    private final Speculations speculation;
    /** Source number to its id; {@code null} once removed (numbers are never reused). */
    private volatile String[] names = new String[0];

    /** Source id to the block size its events last carried (read on the request path, without the lock). */
    private final ConcurrentHashMap<String, Integer> blockSizes = new ConcurrentHashMap<>();

    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Source> sources = new HashMap<>(); // guarded by lock
    private volatile long total; // written under lock
    private volatile long evictions; // written under lock

    public KvIndex(Ticker ticker, int maxBlocks) {
        if (maxBlocks < 1) {
            throw new IllegalArgumentException("maxBlocks: " + maxBlocks + " (expected >= 1)");
        }
        this.ticker = ticker;
        this.maxBlocks = maxBlocks;
        this.speculation = new Speculations(Math.max(1, maxBlocks / 4));
    }

    // ---------------------------------------------------------------- reads

    /**
     * Per source, the leading tokens of {@code tokens} it holds (sources that hold none are absent).
     *
     * @param blockSize the block size of the sources asked about (keys depend on it)
     * @param lora      the request's LoRA adapter name, or {@code null}
     * @param salt      the request's {@code cache_salt}, or {@code null}
     */
    public Map<String, Match> lookup(int[] tokens, int blockSize, String lora, String salt) {
        return lookupKeys(BlockKeys.chain(tokens, blockSize, lora, salt), blockSize);
    }

    /** As {@link #lookup}, from keys already computed with {@link BlockKeys#chain}. */
    public Map<String, Match> lookupKeys(long[] keys, int blockSize) {
        String[] ids = names;
        if (keys.length == 0 || ids.length == 0) {
            return Map.of();
        }
        long now = ticker.nanos();
        int[] run = new int[ids.length];
        int[] gpu = new int[ids.length];
        int[] slowest = new int[ids.length];
        boolean[] guessed = new boolean[ids.length];
        int[] alive = new int[ids.length];
        int n = 0;
        boolean anySpeculation = !speculation.isEmpty();
        for (int b = 0; b < keys.length; b++) {
            Holders h = holders.get(keys[b]);
            // the speculative map is asked only when an event-fed entry is missing for a source still in the run
            Speculation sp = anySpeculation && (b == 0 || !heldByAll(h, alive, n)) ? speculation.get(keys[b]) : null;
            if (b == 0) {
                n = firstHolders(h, sp, now, ids, alive);
            }
            int kept = 0;
            for (int i = 0; i < n; i++) {
                int s = alive[i];
                int mask = h == null ? 0 : h.maskOf(s);
                boolean guess = mask == 0 && sp != null && sp.live(s, now);
                if (mask == 0 && !guess) {
                    continue;
                }
                Medium tier = guess ? Medium.GPU : Medium.fastest(mask);
                run[s] = b + 1;
                if (tier == Medium.GPU && gpu[s] == b) {
                    gpu[s] = b + 1;
                }
                slowest[s] = Math.max(slowest[s], tier.ordinal());
                guessed[s] |= guess;
                alive[kept++] = s;
            }
            n = kept;
            if (n == 0) {
                break;
            }
        }
        Map<String, Match> out = new HashMap<>();
        Medium[] tiers = Medium.values();
        for (int s = 0; s < ids.length; s++) {
            if (run[s] > 0 && ids[s] != null) {
                out.put(ids[s], new Match(run[s] * blockSize, gpu[s] * blockSize, tiers[slowest[s]], guessed[s]));
            }
        }
        return out;
    }

    private static int firstHolders(Holders h, Speculation sp, long now, String[] ids, int[] alive) {
        int n = 0;
        if (h != null) {
            for (int s : h.sources) {
                if (s < ids.length && ids[s] != null) {
                    alive[n++] = s;
                }
            }
        }
        if (sp != null) {
            for (int i = 0; i < sp.sources.length; i++) {
                int s = sp.sources[i];
                if (s < ids.length && ids[s] != null && sp.expiries[i] - now > 0 && !contains(alive, n, s)) {
                    alive[n++] = s;
                }
            }
        }
        return n;
    }

    private static boolean heldByAll(Holders h, int[] alive, int n) {
        if (h == null) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (h.maskOf(alive[i]) == 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean contains(int[] a, int n, int v) {
        for (int i = 0; i < n; i++) {
            if (a[i] == v) {
                return true;
            }
        }
        return false;
    }

    /** Blocks the index holds for source {@code id} (0 when unknown). */
    public long blocks(String id) {
        lock.lock();
        try {
            Source s = sources.get(id);
            return s == null ? 0 : s.blocks.size();
        } finally {
            lock.unlock();
        }
    }

    /** The block size source {@code id}'s events last carried, or 0. Takes no lock (the request path asks). */
    public int blockSize(String id) {
        Integer size = blockSizes.get(id);
        return size == null ? 0 : size;
    }

    public Stats stats() {
        long t = total;
        return new Stats(t, maxBlocks, evictions, speculation.count(), t * BYTES_PER_BLOCK);
    }

    /** Speculative entries refused because the speculative bound was reached. */
    public long speculationDropped() {
        return speculation.dropped();
    }

    // ---------------------------------------------------------------- writes

    /**
     * Applies a {@code BlockStored} of source {@code id}.
     *
     * @param engineHashes      vLLM's hashes of the stored blocks, in chain order
     * @param parentEngineHash  vLLM's hash of the block before the first one, or {@code null} at a chain's start
     * @param tokenIds          the blocks' tokens concatenated; empty for a tier change of blocks already known
     * @param extraDigests      per block {@link BlockKeys#extraDigest} of its extra keys (0: none), or {@code null}
     * @throws IllegalArgumentException when the token count is not {@code blockSize} per block
     */
    public StoreResult stored(String id, long[] engineHashes, Long parentEngineHash, int[] tokenIds, int blockSize,
                              String lora, long[] extraDigests, Medium medium) {
        if (tokenIds.length != 0 && (blockSize < 1 || tokenIds.length != (long) blockSize * engineHashes.length)) {
            throw new IllegalArgumentException("BlockStored: " + tokenIds.length + " token ids for "
                    + engineHashes.length + " blocks of " + blockSize);
        }
        if (extraDigests != null && extraDigests.length != engineHashes.length) {
            throw new IllegalArgumentException("BlockStored: " + extraDigests.length + " extra keys for "
                    + engineHashes.length + " blocks");
        }
        lock.lock();
        try {
            Source src = source(id);
            int stored = 0;
            int unresolved = 0;
            if (tokenIds.length == 0) {
                for (long h : engineHashes) {
                    Block blk = src.blocks.get(h);
                    if (blk == null) {
                        unresolved++;
                    } else {
                        blk.mask |= medium.bit();
                        publish(src, blk);
                        stored++;
                    }
                }
                return new StoreResult(stored, unresolved);
            }
            long parent;
            if (parentEngineHash == null) {
                parent = BlockKeys.root(lora);
            } else {
                Block p = src.blocks.get(parentEngineHash);
                if (p == null) {
                    return new StoreResult(0, engineHashes.length);
                }
                parent = p.key;
            }
            for (int i = 0; i < engineHashes.length; i++) {
                long extra = extraDigests == null ? 0 : extraDigests[i];
                parent = BlockKeys.next(parent, tokenIds, i * blockSize, blockSize, extra);
                put(src, engineHashes[i], parent, medium);
                stored++;
            }
            if (src.blockSize != blockSize) {
                src.blockSize = blockSize;
                blockSizes.put(id, blockSize);
            }
            enforceBound();
            return new StoreResult(stored, 0);
        } finally {
            lock.unlock();
        }
    }

    /** Applies a {@code BlockRemoved} of source {@code id}; returns how many known blocks it touched. */
    public int removed(String id, long[] engineHashes, Medium medium) {
        lock.lock();
        try {
            Source src = sources.get(id);
            if (src == null) {
                return 0;
            }
            int touched = 0;
            for (long h : engineHashes) {
                Block blk = src.blocks.get(h);
                if (blk == null) {
                    continue;
                }
                touched++;
                blk.mask &= ~medium.bit();
                if (blk.mask == 0) {
                    src.blocks.remove(h);
                    unpublish(src, blk);
                } else {
                    publish(src, blk);
                }
            }
            return touched;
        } finally {
            lock.unlock();
        }
    }

    /** Drops every block of source {@code id} ({@code AllBlocksCleared}, or the source's stream cannot be trusted). */
    public void reset(String id) {
        lock.lock();
        try {
            Source src = sources.get(id);
            if (src != null) {
                for (Block blk : src.blocks.values()) {
                    unpublishKey(src.number, blk.key);
                }
                total -= src.blocks.size();
                src.blocks.clear();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Registers source {@code id} (idempotent), so speculation and lookups know it before its first event. */
    public void addSource(String id) {
        lock.lock();
        try {
            source(id);
        } finally {
            lock.unlock();
        }
    }

    /** Forgets source {@code id} and everything it held (its worker left the fleet). */
    public void removeSource(String id) {
        lock.lock();
        try {
            Source src = sources.remove(id);
            blockSizes.remove(id);
            if (src != null) {
                for (Block blk : src.blocks.values()) {
                    unpublishKey(src.number, blk.key);
                }
                total -= src.blocks.size();
                String[] next = names.clone();
                next[src.number] = null;
                names = next;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Marks the full blocks of {@code tokens} as held by {@code id} until {@code ttl} from now, unless the speculative
     * bound is reached. Unknown sources are ignored. Safe from any thread.
     */
    public void speculate(String id, int[] tokens, int blockSize, String lora, String salt, Duration ttl) {
        speculateKeys(id, BlockKeys.chain(tokens, blockSize, lora, salt), 0, ttl);
    }

    /**
     * As {@link #speculate}, from keys already computed with {@link BlockKeys#chain}, for the blocks from
     * {@code from} on (the caller knows the source's events already hold the ones before).
     */
    public void speculateKeys(String id, long[] keys, int from, Duration ttl) {
        int number = numberOf(id);
        if (number < 0) {
            return;
        }
        speculation.add(number, keys, from, ticker.nanos() + ttl.toNanos());
    }

    /** Drops expired speculative entries (the reads already ignore them); call now and then. */
    public void expireSpeculation() {
        speculation.expire(ticker.nanos());
    }

    private int numberOf(String id) {
        String[] ids = names;
        for (int i = 0; i < ids.length; i++) {
            if (id.equals(ids[i])) {
                return i;
            }
        }
        return -1;
    }

    private Source source(String id) {
        Source src = sources.get(id);
        if (src == null) {
            String[] next = Arrays.copyOf(names, names.length + 1);
            src = new Source(names.length);
            next[src.number] = id;
            sources.put(id, src);
            names = next;
        }
        return src;
    }

    private void put(Source src, long engineHash, long key, Medium medium) {
        Block blk = src.blocks.remove(engineHash); // re-inserted last: store order is the eviction order
        if (blk != null && blk.key != key) {
            unpublish(src, blk);
            blk = null;
        } else if (blk != null) {
            total--;
        }
        if (blk == null) {
            blk = new Block(key);
        }
        blk.mask |= medium.bit();
        src.blocks.put(engineHash, blk);
        total++;
        publish(src, blk);
    }

    private void enforceBound() {
        while (total > maxBlocks) {
            Source largest = null;
            for (Source s : sources.values()) {
                if (largest == null || s.blocks.size() > largest.blocks.size()) {
                    largest = s;
                }
            }
            Iterator<Block> eldest = largest.blocks.values().iterator();
            Block blk = eldest.next();
            eldest.remove();
            unpublish(largest, blk);
            evictions++;
        }
    }

    private void publish(Source src, Block blk) {
        holders.compute(blk.key, (k, h) -> h == null ? Holders.of(src.number, blk.mask) : h.with(src.number, blk.mask));
    }

    /** The block has left {@code src.blocks}: its holder entry and its count go. */
    private void unpublish(Source src, Block blk) {
        unpublishKey(src.number, blk.key);
        total--;
    }

    private void unpublishKey(int number, long key) {
        holders.computeIfPresent(key, (k, h) -> h.without(number));
    }

    private static final class Source {
        final int number;
        /** Engine hash to block, oldest stored first. */
        final LinkedHashMap<Long, Block> blocks = new LinkedHashMap<>();
        int blockSize;

        Source(int number) {
            this.number = number;
        }
    }

    private static final class Block {
        final long key;
        int mask;

        Block(long key) {
            this.key = key;
        }
    }
}
