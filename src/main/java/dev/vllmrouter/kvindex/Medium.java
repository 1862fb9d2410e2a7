package dev.vllmrouter.kvindex;

import java.util.Locale;

/**
 * Where a worker holds a KV block, from vLLM's {@code medium} field: {@code GPU} (also when the field is nil or absent,
 * as in engines before the field existed), {@code CPU} (the offloading connector; also the legacy {@code CPU_PINNED},
 * {@code CPU_TIER1}), and {@code STORAGE} for every slower tier ({@code FS}, {@code OBJ}, {@code STORAGE}, unknown
 * names). Ordered fastest first; each has one bit of a block's tier mask.
 */
public enum Medium {
    GPU, CPU, STORAGE;

    /** This tier's bit in a block's tier mask. */
    public int bit() {
        return 1 << ordinal();
    }

    /** The fastest tier in a non-empty mask. */
    public static Medium fastest(int mask) {
        if ((mask & GPU.bit()) != 0) {
            return GPU;
        }
        return (mask & CPU.bit()) != 0 ? CPU : STORAGE;
    }

    /** vLLM's {@code medium} string ({@code null}: GPU). */
    public static Medium parse(String medium) {
        if (medium == null) {
            return GPU;
        }
        String m = medium.toUpperCase(Locale.ROOT);
        if (m.equals("GPU") || m.equals("CUDA")) {
            return GPU;
        }
        return m.startsWith("CPU") ? CPU : STORAGE;
    }
}
