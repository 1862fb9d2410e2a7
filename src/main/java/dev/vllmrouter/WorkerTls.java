package dev.vllmrouter;

import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

import io.helidon.common.configurable.Resource;
import io.helidon.common.pki.Keys;

import dev.vllmrouter.config.ConfigException;
import dev.vllmrouter.config.WorkerTlsConfig;

/**
 * TLS towards {@code https} workers from PEM files ({@code --worker-ca-cert}, {@code --worker-client-cert},
 * {@code --worker-client-key}): the CA bundle replaces the JVM's trust store for workers (vLLM started with
 * {@code --ssl-certfile} from a private CA), and the client certificate is presented when vLLM asks for one
 * ({@code --ssl-cert-reqs 2} with {@code --ssl-ca-certs}). Host names are still verified against the worker URL.
 * PEM files are read with Helidon's key utilities (PKCS#8 and PKCS#1 keys, certificate chains and bundles).
 */
final class WorkerTls {
    private WorkerTls() {
    }

    /**
     * The socket factory for {@code config}, or {@code null} when no flag is set (the JVM's default trust).
     *
     * @throws ConfigException a file that cannot be read or holds no certificate or key
     */
    static SSLSocketFactory socketFactory(WorkerTlsConfig config) {
        if (config == null || !config.configured()) {
            return null;
        }
        try {
            TrustManagerFactory trust = null;
            if (config.caCert() != null) {
                List<X509Certificate> cas = read(config.caCert(), "--worker-ca-cert", true).certs();
                if (cas.isEmpty()) {
                    throw new ConfigException("--worker-ca-cert: no certificate in " + config.caCert());
                }
                KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
                store.load(null, null);
                for (int i = 0; i < cas.size(); i++) {
                    store.setCertificateEntry("worker-ca-" + i, cas.get(i));
                }
                trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                trust.init(store);
            }
            KeyManagerFactory keys = null;
            if (config.clientCert() != null) {
                List<X509Certificate> chain = read(config.clientCert(), "--worker-client-cert", true).certs();
                PrivateKey key = read(config.clientKey(), "--worker-client-key", false).privateKey()
                        .orElseThrow(() -> new ConfigException("--worker-client-key: no private key in "
                                + config.clientKey()));
                if (chain.isEmpty()) {
                    throw new ConfigException("--worker-client-cert: no certificate in " + config.clientCert());
                }
                KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
                store.load(null, null);
                char[] password = new char[0];
                store.setKeyEntry("worker-client", key, password, chain.toArray(new X509Certificate[0]));
                keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(store, password);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys == null ? null : keys.getKeyManagers(), trust == null ? null : trust.getTrustManagers(),
                    null);
            return context.getSocketFactory();
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new ConfigException("worker TLS: " + e.getMessage());
        }
    }

    private static Keys read(Path file, String flag, boolean certificates) {
        try {
            return Keys.builder().pem(pem -> {
                if (certificates) {
                    pem.certificates(Resource.create(file));
                } else {
                    pem.key(Resource.create(file));
                }
            }).build();
        } catch (RuntimeException e) {
            throw new ConfigException(flag + ": cannot read " + file + ": " + e.getMessage());
        }
    }
}
