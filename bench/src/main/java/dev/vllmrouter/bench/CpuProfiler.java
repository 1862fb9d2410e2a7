package dev.vllmrouter.bench;

import java.lang.management.ManagementFactory;
import java.util.Collection;
import java.util.List;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * {@code -prof dev.vllmrouter.bench.CpuProfiler}: the CPU time of the whole benchmark JVM (every thread: the
 * benchmark's, the garbage collector's, the JIT's, any native pool's) per operation of each measured iteration, in
 * µs. On a shared machine wall time counts the waits for a core; this counts only the work (still inflated a little
 * by contention for caches), and it counts work done off the calling thread, which wall time of one call hides.
 * Setup methods of level Invocation run inside the iteration and are counted too.
 */
public class CpuProfiler implements InternalProfiler {
    private final com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private long start;

    @Override
    public String getDescription() {
        return "process CPU time per operation";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        start = os.getProcessCpuTime();
    }

    @Override
    public Collection<? extends Result> afterIteration(BenchmarkParams benchmarkParams,
                                                       IterationParams iterationParams, IterationResult result) {
        long cpu = os.getProcessCpuTime() - start;
        long ops = result.getMetadata() == null ? 0 : result.getMetadata().getMeasuredOps();
        double perOp = ops == 0 ? Double.NaN : cpu / 1e3 / ops;
        return List.of(new ScalarResult("cpu", perOp, "us/op", AggregationPolicy.AVG));
    }
}
