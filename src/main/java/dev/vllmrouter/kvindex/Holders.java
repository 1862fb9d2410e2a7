package dev.vllmrouter.kvindex;

import java.util.Arrays;

/**
 * The sources that hold one block, with each one's tier mask ({@link Medium#bit()}s). Immutable: the index replaces
 * the whole value on a change, so a reader sees one consistent set. Sources are few per block (a block is usually on
 * one or a handful of workers), so the arrays are scanned linearly.
 */
final class Holders {
    final int[] sources;
    final byte[] masks;

    private Holders(int[] sources, byte[] masks) {
        this.sources = sources;
        this.masks = masks;
    }

    static Holders of(int source, int mask) {
        return new Holders(new int[] {source}, new byte[] {(byte) mask});
    }

    /** The tier mask of {@code source}, 0 when it does not hold the block. */
    int maskOf(int source) {
        for (int i = 0; i < sources.length; i++) {
            if (sources[i] == source) {
                return masks[i];
            }
        }
        return 0;
    }

    /** A copy where {@code source} has {@code mask} (non-zero). */
    Holders with(int source, int mask) {
        for (int i = 0; i < sources.length; i++) {
            if (sources[i] == source) {
                if (masks[i] == mask) {
                    return this;
                }
                byte[] m = masks.clone();
                m[i] = (byte) mask;
                return new Holders(sources, m);
            }
        }
        int[] s = Arrays.copyOf(sources, sources.length + 1);
        byte[] m = Arrays.copyOf(masks, masks.length + 1);
        s[sources.length] = source;
        m[masks.length] = (byte) mask;
        return new Holders(s, m);
    }

    /** A copy without {@code source}, or {@code null} when no source is left. */
    Holders without(int source) {
        for (int i = 0; i < sources.length; i++) {
            if (sources[i] == source) {
                if (sources.length == 1) {
                    return null;
                }
                int[] s = new int[sources.length - 1];
                byte[] m = new byte[masks.length - 1];
                System.arraycopy(sources, 0, s, 0, i);
                System.arraycopy(sources, i + 1, s, i, s.length - i);
                System.arraycopy(masks, 0, m, 0, i);
                System.arraycopy(masks, i + 1, m, i, m.length - i);
                return new Holders(s, m);
            }
        }
        return this;
    }
}
