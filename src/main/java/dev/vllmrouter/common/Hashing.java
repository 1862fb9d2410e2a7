package dev.vllmrouter.common;

/**
 * A fast 64-bit hash of character sequences for hash rings and keys: four UTF-16 code units are packed into one
 * 64-bit lane, mixed with multiply-rotate steps, and the result finished with MurmurHash3's {@code fmix64} so that
 * every input bit affects every output bit. Not cryptographic; stable across runs and JVMs (no random seed), so a key
 * maps to the same ring position after a restart.
 */
public final class Hashing {
    private static final long P1 = 0x9E3779B185EBCA87L;
    private static final long P2 = 0xC2B2AE3D27D4EB4FL;
    private static final long P3 = 0x165667B19E3779F9L;
    private static final long P4 = 0x85EBCA77C2B2AE63L;

    private Hashing() {
    }

    public static long hash64(CharSequence s) {
        int len = s.length();
        long h = P4 ^ (len * P1);
        int i = 0;
        for (; i + 4 <= len; i += 4) {
            long k = s.charAt(i) | ((long) s.charAt(i + 1) << 16) | ((long) s.charAt(i + 2) << 32)
                    | ((long) s.charAt(i + 3) << 48);
            h = step(h, k);
        }
        if (i < len) {
            long k = 0;
            for (int shift = 0; i < len; i++, shift += 16) {
                k |= (long) s.charAt(i) << shift;
            }
            h = step(h, k);
        }
        return fmix64(h);
    }

    private static long step(long h, long k) {
        k *= P2;
        k = Long.rotateLeft(k, 31);
        k *= P1;
        h ^= k;
        return Long.rotateLeft(h, 27) * P1 + P3;
    }

    /** MurmurHash3's 64-bit finaliser. */
    public static long fmix64(long h) {
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        h ^= h >>> 33;
        return h;
    }
}
