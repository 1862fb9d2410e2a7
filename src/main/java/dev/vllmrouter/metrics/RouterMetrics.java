package dev.vllmrouter.metrics;

/**
 * What the router reports, in domain terms. The request path calls these once per event; implementations must be
 * cheap and thread-safe. Only {@link PrometheusMetrics} knows about Prometheus.
 */
public interface RouterMetrics {
    /** A client request on {@code route} ended with {@code status} after {@code nanos}. */
    void requestDone(String route, int status, long nanos);

    /** The Prometheus text exposition of every series. */
    String scrape();

    RouterMetrics NOOP = new RouterMetrics() {
        @Override
        public void requestDone(String route, int status, long nanos) {
        }

        @Override
        public String scrape() {
            return "";
        }
    };
}
