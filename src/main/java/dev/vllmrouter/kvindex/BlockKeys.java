package dev.vllmrouter.kvindex;

import java.util.List;

import dev.vllmrouter.common.Hashing;

/**
 * The router's own key of a KV block: a chained 64-bit hash of the block's token ids, computed the same way from a
 * vLLM {@code BlockStored} event and from a request's token ids, so the index never depends on vLLM's block hashes
 * (which change with {@code PYTHONHASHSEED} and {@code --prefix-caching-hash-algo}).
 *
 * <p>Algorithm: {@code key(b) = mix(key(b-1), tokens of b, extra(b))} with {@code key(-1) = root(lora)}. The LoRA
 * adapter name seeds the root, so the same tokens under two adapters never share a key; {@code extra(b)} is a digest of
 * the block's other extra hash inputs ({@code cache_salt} on block 0, multimodal identifiers), 0 when there are none.
 * Token ids go through two independent multiply-xorshift lanes; the lanes, the block length and the extra digest are
 * joined by MurmurHash3's {@code fmix64}. Collisions (about {@code blocks^2 / 2^64}) are ignored, as vLLM ignores its own.
 *
 * <p>Pure and stateless; thread-safe.
 */
public final class BlockKeys {
    private static final long SEED = 0x6A09E667F3BCC908L;
    private static final long M1 = 0x9E3779B97F4A7C15L;
    private static final long M2 = 0xC2B2AE3D27D4EB4FL;

    private BlockKeys() {
    }

    /** The parent key of a chain's first block; {@code lora} is the adapter name, or {@code null} for the base model. */
    public static long root(String lora) {
        return lora == null ? SEED : Hashing.fmix64(SEED ^ Hashing.hash64(lora) * M2);
    }

    /** The key of the block {@code tokens[from, from + length)} that follows the block keyed {@code parent}. */
    public static long next(long parent, int[] tokens, int from, int length, long extra) {
        long a = parent ^ M1;
        long b = Long.rotateLeft(parent, 29) ^ M2;
        int end = from + length;
        int i = from;
        for (; i + 1 < end; i += 2) {
            a = (a ^ (tokens[i] & 0xFFFFFFFFL)) * M1;
            a ^= a >>> 31;
            b = (b ^ (tokens[i + 1] & 0xFFFFFFFFL)) * M2;
            b ^= b >>> 29;
        }
        if (i < end) {
            a = (a ^ (tokens[i] & 0xFFFFFFFFL)) * M1;
            a ^= a >>> 31;
        }
        return Hashing.fmix64(a ^ Long.rotateLeft(b, 32) ^ length ^ extra * M2);
    }

    /**
     * The keys of every full block of {@code tokens} ({@code tokens.length / blockSize} of them), for a request under
     * adapter {@code lora} with {@code cache_salt} {@code salt} (either may be {@code null}).
     */
    public static long[] chain(int[] tokens, int blockSize, String lora, String salt) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize: " + blockSize);
        }
        int n = tokens.length / blockSize;
        long[] keys = new long[n];
        long parent = root(lora);
        for (int b = 0; b < n; b++) {
            long extra = b == 0 && salt != null ? extraDigest(List.of(saltPart(salt))) : 0;
            parent = next(parent, tokens, b * blockSize, blockSize, extra);
            keys[b] = parent;
        }
        return keys;
    }

    /**
     * A digest of one block's extra hash inputs, each given in its canonical text form (see {@code KvEventDecoder}:
     * {@code s:<string>}, {@code i:<integer>}, {@code b:<hex>}, {@code [..]} for a tuple, {@code n} for nil); 0 for
     * none.
     */
    public static long extraDigest(List<String> parts) {
        if (parts == null || parts.isEmpty()) {
            return 0;
        }
        long h = M1;
        for (String p : parts) {
            h = Hashing.fmix64(h ^ Hashing.hash64(p)) * M2 + p.length();
        }
        return h == 0 ? 1 : h;
    }

    /** The canonical form of a {@code cache_salt} as it appears in a block's extra keys. */
    public static String saltPart(String salt) {
        return "s:" + salt;
    }
}
