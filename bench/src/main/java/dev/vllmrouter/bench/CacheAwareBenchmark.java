package dev.vllmrouter.bench;

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

import dev.vllmrouter.policy.Attempt;
import dev.vllmrouter.policy.Decision;

/**
 * cache_aware's pick cost as prompts grow: one {@code pick} (prefix-tree match, load comparison, re-insert of the
 * whole text under the chosen worker) for rendered chats of {@code promptSize} chars (a shared ~1 KiB system prompt +
 * the conversation's own turns), over a tree warmed with every conversation ({@link PickFixture}: 4096 conversations
 * of 2 KiB, 256 of 32 KiB — 8 Mi chars either way). Average time per pick.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class CacheAwareBenchmark {
    @Param({"2048", "32768"})
    public int promptSize;

    @Param({"4", "16", "64", "256"})
    public int workers;

    private PickFixture fixture;

    /** Each benchmark thread walks the keys on its own. */
    @State(Scope.Thread)
    public static class Cursor {
        int next;
    }

    @Setup(Level.Trial)
    public void setUp() {
        fixture = new PickFixture("cache_aware", workers, promptSize);
    }

    @Benchmark
    public Decision pick(Cursor cursor) {
        BenchKey key = fixture.keys[cursor.next++ & fixture.mask];
        return fixture.picker.pick(key, Attempt.first());
    }
}
