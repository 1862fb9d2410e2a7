package dev.vllmrouter.config;

import java.nio.file.Path;

/**
 * TLS towards {@code https} workers, from PEM files; every field may be {@code null}.
 *
 * @param caCert     {@code --worker-ca-cert}: CA bundle trusted for worker certificates instead of the JVM's
 * @param clientCert {@code --worker-client-cert}: certificate chain presented to workers that ask for one
 * @param clientKey  {@code --worker-client-key}: its private key
 */
public record WorkerTlsConfig(Path caCert, Path clientCert, Path clientKey) {
    public static final WorkerTlsConfig NONE = new WorkerTlsConfig(null, null, null);

    /** Whether any flag is set. */
    public boolean configured() {
        return caCert != null || clientCert != null || clientKey != null;
    }
}
