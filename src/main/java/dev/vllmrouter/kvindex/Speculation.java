package dev.vllmrouter.kvindex;

import java.util.Arrays;

/**
 * The routing-time guesses for one block of {@link KvIndex}: the sources (numbers) a request with that block was just
 * routed to, and until when (the {@link dev.vllmrouter.common.Ticker}'s nanos) each guess holds.
 *
 * <p>Invariant: immutable, {@code sources} without repeats and as long as {@code expiries}; a new guess for a source
 * already there keeps the later expiry. The index swaps whole values in its concurrent map, so readers need no lock.
 */
final class Speculation {
    final int[] sources;
    final long[] expiries;

    private Speculation(int[] sources, long[] expiries) {
        this.sources = sources;
        this.expiries = expiries;
    }

    static Speculation of(int source, long expiry) {
        return new Speculation(new int[] {source}, new long[] {expiry});
    }

    boolean live(int source, long now) {
        for (int i = 0; i < sources.length; i++) {
            if (sources[i] == source) {
                return expiries[i] - now > 0;
            }
        }
        return false;
    }

    Speculation with(int source, long expiry) {
        for (int i = 0; i < sources.length; i++) {
            if (sources[i] == source) {
                long[] e = expiries.clone();
                e[i] = Math.max(e[i], expiry);
                return new Speculation(sources, e);
            }
        }
        int[] s = Arrays.copyOf(sources, sources.length + 1);
        long[] e = Arrays.copyOf(expiries, expiries.length + 1);
        s[sources.length] = source;
        e[expiries.length] = expiry;
        return new Speculation(s, e);
    }

    /** Without the expired guesses: itself when none expired, {@code null} when all did. */
    Speculation live(long now) {
        int keep = 0;
        for (long e : expiries) {
            if (e - now > 0) {
                keep++;
            }
        }
        if (keep == sources.length) {
            return this;
        }
        if (keep == 0) {
            return null;
        }
        int[] s = new int[keep];
        long[] e = new long[keep];
        int j = 0;
        for (int i = 0; i < sources.length; i++) {
            if (expiries[i] - now > 0) {
                s[j] = sources[i];
                e[j++] = expiries[i];
            }
        }
        return new Speculation(s, e);
    }
}
