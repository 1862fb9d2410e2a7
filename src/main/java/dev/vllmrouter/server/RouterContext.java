package dev.vllmrouter.server;

import dev.vllmrouter.admission.AdmissionGate;
import dev.vllmrouter.auth.Authenticator;
import dev.vllmrouter.tracing.Tracing;
import dev.vllmrouter.common.Ticker;
import dev.vllmrouter.config.RouterConfig;
import dev.vllmrouter.health.WorkerWait;
import dev.vllmrouter.kvevents.KvEventSubscriber;
import dev.vllmrouter.metrics.RouterMetrics;
import dev.vllmrouter.monitor.WorkerMonitor;
import dev.vllmrouter.pd.PdForwarder;
import dev.vllmrouter.proxy.FleetCalls;
import dev.vllmrouter.proxy.Forwarder;
import dev.vllmrouter.proxy.ModelCatalog;
import dev.vllmrouter.proxy.RequestIds;
import dev.vllmrouter.worker.WorkerRegistry;

/**
 * What the HTTP services need, wired once by {@code RouterApp}; {@code pd} is {@code null} in regular mode,
 * {@code kvEvents} without {@code --kv-events-port}.
 */
public record RouterContext(RouterConfig config, WorkerRegistry registry, Forwarder forwarder, PdForwarder pd,
                            ModelCatalog models, FleetCalls fleet, RequestIds requestIds, RouterMetrics metrics,
                            WorkerWait workerWait, WorkerMonitor monitor, Ticker ticker,
                            ClientConnections connections, AdmissionGate admission, Drain drain,
                            Authenticator auth, Tracing tracing, KvEventSubscriber kvEvents) {
}
