package dev.vllmrouter.bench;

import java.util.Map;

/**
 * What one simulation run measured (see {@link FleetSim}), with the derived figures the report prints.
 *
 * @param policy           policy name (or {@code oracle})
 * @param active           conversations in progress at once
 * @param hitTokens        prompt tokens served from the workers' prefix caches, fleet-wide
 * @param promptTokens     prompt tokens looked up, fleet-wide
 * @param busyUs           per worker, the sum of its requests' service times (virtual µs)
 * @param requests         per worker, requests served
 * @param latencyUs        every request's end-to-end latency (virtual µs), sorted
 * @param maxInFlightArea  time-integral of the largest per-worker in-flight count
 * @param meanInFlightArea time-integral of the mean per-worker in-flight count
 * @param reasons          decision reasons and their counts
 * @param endUs            virtual time at which the last request completed
 */
record SimResult(String policy, int active, long hitTokens, long promptTokens, long[] busyUs, long[] requests,
                 long[] latencyUs, double maxInFlightArea, double meanInFlightArea, Map<String, Integer> reasons,
                 long endUs) {

    double hitRate() {
        return promptTokens == 0 ? 0 : (double) hitTokens / promptTokens;
    }

    double busyMaxOverMean() {
        return maxOverMean(busyUs);
    }

    double requestsMaxOverMean() {
        return maxOverMean(requests);
    }

    /** Time-averaged max in-flight over time-averaged mean in-flight. */
    double inFlightMaxOverMean() {
        return meanInFlightArea == 0 ? 0 : maxInFlightArea / meanInFlightArea;
    }

    double meanInFlight() {
        return endUs == 0 ? 0 : meanInFlightArea / endUs;
    }

    double meanLatencyMs() {
        long sum = 0;
        for (long l : latencyUs) {
            sum += l;
        }
        return latencyUs.length == 0 ? 0 : sum / 1000.0 / latencyUs.length;
    }

    double p99LatencyMs() {
        if (latencyUs.length == 0) {
            return 0;
        }
        int i = (int) Math.ceil(0.99 * latencyUs.length) - 1;
        return latencyUs[Math.max(0, i)] / 1000.0;
    }

    long totalRequests() {
        long n = 0;
        for (long r : requests) {
            n += r;
        }
        return n;
    }

    private static double maxOverMean(long[] values) {
        long max = 0;
        long sum = 0;
        for (long v : values) {
            max = Math.max(max, v);
            sum += v;
        }
        return sum == 0 ? 0 : max / ((double) sum / values.length);
    }
}
