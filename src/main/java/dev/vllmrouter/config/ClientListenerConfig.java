package dev.vllmrouter.config;

import java.time.Duration;
import java.util.List;

/**
 * What the router's client listener ({@code --host:--port}) allows a client connection: how many may be open, how
 * long a request head and an idle keep-alive connection may take, and the TLS 1.2 cipher suites.
 *
 * @param maxConnections   {@code --max-client-connections}: most client connections open at once; more are closed
 *                         at once ({@link #defaultMaxConnections}: derived from the descriptor limit)
 * @param headerTimeout    {@code --client-header-timeout-secs} (30): a new connection's TLS handshake and first
 *                         request head, or a later head from its first byte, must be in within this time
 * @param idleTimeout      {@code --client-idle-timeout-secs} (75): longest a keep-alive connection may wait for the
 *                         first byte of its next request
 * @param tlsCipherSuites  {@code --tls-cipher-suites}: the suites offered with TLS 1.2 and 1.3
 * @param bodyMinRate      {@code --client-body-min-rate} (500): bytes per second a request body must keep up on
 *                         average once {@code --client-body-timeout-secs} has passed; 0: no such rule
 */
public record ClientListenerConfig(int maxConnections, Duration headerTimeout, Duration idleTimeout,
                                   List<String> tlsCipherSuites, long bodyMinRate) {
    /** Descriptors kept free for worker connections, log files, the metrics listener and the JVM. */
    public static final long RESERVED_DESCRIPTORS = 64;

    /**
     * TLS 1.3's suites and TLS 1.2's forward-secret AEAD suites (ECDHE with AES-GCM or ChaCha20-Poly1305): no CBC,
     * no RSA key exchange, no SHA-1 MACs.
     */
    public static final List<String> DEFAULT_TLS_CIPHER_SUITES = List.of(
            "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    public ClientListenerConfig {
        tlsCipherSuites = List.copyOf(tlsCipherSuites);
    }

    /**
     * The default of {@code --max-client-connections}: half of the descriptors that the limit leaves after those
     * open now and {@link #RESERVED_DESCRIPTORS}, because every client request being proxied also holds a worker
     * connection; at least 1. A limit that cannot be read ({@code <= 0}) gives {@link Integer#MAX_VALUE} (no cap).
     *
     * @param descriptorLimit the process's limit ({@code ulimit -n}), or {@code <= 0} when unknown
     * @param openNow         descriptors open now
     */
    public static int defaultMaxConnections(long descriptorLimit, long openNow) {
        if (descriptorLimit <= 0) {
            return Integer.MAX_VALUE;
        }
        long free = descriptorLimit - Math.max(0, openNow) - RESERVED_DESCRIPTORS;
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, free / 2));
    }
}
