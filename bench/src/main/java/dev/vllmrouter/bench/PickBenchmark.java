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
 * The cost of one routing decision, {@code picker.pick(key, Attempt.first())}, per policy and fleet size, on a warm
 * structure ({@link PickFixture}): average time per pick. Keys cycle through a pre-built array: sessions
 * ({@code session:<id>} in the body) for the hashing policies, 2 KiB rendered chats for cache_aware (match in the
 * prefix tree plus the re-insert of the text, both part of a real pick). The decision is returned to JMH so it is
 * not optimised away. Larger prompts for cache_aware: {@link CacheAwareBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PickBenchmark {
    @Param({"round_robin", "random", "power_of_two", "consistent_hash", "rendezvous_hash", "cache_aware"})
    public String policy;

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
        fixture = new PickFixture(policy, workers, 2048);
    }

    @Benchmark
    public Decision pick(Cursor cursor) {
        BenchKey key = fixture.keys[cursor.next++ & fixture.mask];
        return fixture.picker.pick(key, Attempt.first());
    }
}
