package dev.vllmrouter;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.TrustManagerFactory;

import io.helidon.common.configurable.Resource;
import io.helidon.common.pki.Keys;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vllmrouter.config.ConfigException;
import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.testing.ScriptedWorker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * HTTPS workers with a private CA and client certificates (vLLM's {@code --ssl-certfile}, {@code --ssl-ca-certs},
 * {@code --ssl-cert-reqs 2}): {@code --worker-ca-cert}, {@code --worker-client-cert}, {@code --worker-client-key}.
 * The certificates are made here with openssl (Debian: package openssl), on loopback only.
 */
class WorkerTlsIT {
    @TempDir
    static Path dir;

    @BeforeAll
    static void certificates() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is needed to make test certificates");
        Files.writeString(dir.resolve("server.ext"), "subjectAltName=IP:127.0.0.1\n");
        Files.writeString(dir.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
                "-keyout", "ca.key", "-out", "ca.pem");
        for (String who : List.of("server", "client")) {
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + who, "-keyout", who + ".key",
                    "-out", who + ".csr");
            openssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-days", "2", "-extfile", who + ".ext", "-out", who + ".pem");
        }
    }

    private static void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0).as("openssl " + args[0] + ": " + out)
                .isTrue();
    }

    /** A worker over TLS with the server certificate, asking every client for a certificate from the CA. */
    private static ScriptedWorker tlsWorker() throws Exception {
        Keys server = Keys.builder().pem(pem -> pem.key(Resource.create(dir.resolve("server.key")))
                .certChain(Resource.create(dir.resolve("server.pem")))).build();
        KeyStore keys = KeyStore.getInstance(KeyStore.getDefaultType());
        keys.load(null, null);
        keys.setKeyEntry("server", server.privateKey().orElseThrow(), new char[0],
                server.certChain().toArray(new java.security.cert.X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        trust.setCertificateEntry("ca", Keys.builder().pem(pem -> pem.certificates(
                Resource.create(dir.resolve("ca.pem")))).build().certs().get(0));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        SSLServerSocket socket = (SSLServerSocket) ctx.getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        socket.setNeedClientAuth(true);
        return ScriptedWorker.startTls((r, out) -> {
            String body = "{\"tls\":\"ok\"}";
            ScriptedWorker.write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length() + "\r\n\r\n" + body);
            return true;
        }, socket);
    }

    private static HttpResponse<String> get(RouterApp router, String path) throws IOException, InterruptedException {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(router.url() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static RouterApp router(String workerUrl, String... tls) {
        List<String> args = new ArrayList<>(List.of("--port", "0", "--prometheus-port", "0", "--worker-urls",
                workerUrl, "--health-check-interval-secs", "3600", "--disable-retries"));
        for (String t : tls) {
            args.add(t.startsWith("--") ? t : dir.resolve(t).toString());
        }
        return RouterApp.start(RouterCli.parse(Map.of(), args.toArray(String[]::new)));
    }

    @Test
    void aWorkerWithAPrivateCaAndClientCertificatesIsReachedWithTheWorkerTlsFlags() throws Exception {
        try (ScriptedWorker w = tlsWorker();
             RouterApp router = router(w.url(), "--worker-ca-cert", "ca.pem", "--worker-client-cert", "client.pem",
                     "--worker-client-key", "client.key")) {
            HttpResponse<String> res = get(router, "/tls/check");
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(res.body()).isEqualTo("{\"tls\":\"ok\"}");
        }
    }

    @Test
    void withoutTheClientCertificateOrTheCaTheWorkerIsNotReached() throws Exception {
        try (ScriptedWorker w = tlsWorker();
             RouterApp noClientCert = router(w.url(), "--worker-ca-cert", "ca.pem");
             RouterApp noCa = router(w.url(), "--worker-client-cert", "client.pem", "--worker-client-key",
                     "client.key")) {
            assertThat(get(noClientCert, "/tls/check").statusCode()).isEqualTo(502);
            assertThat(get(noCa, "/tls/check").statusCode()).as("the JVM's trust store knows no such CA")
                    .isEqualTo(502);
            assertThat(w.count("GET", "/tls/check")).isZero();
        }
    }

    @Test
    void aCertificateWithoutItsKeyIsRefusedAtStart() {
        assertThatThrownBy(() -> RouterCli.parse(Map.of(), "--worker-urls", "https://127.0.0.1:1",
                "--worker-client-cert", dir.resolve("client.pem").toString()))
                .isInstanceOf(ConfigException.class).hasMessageContaining("go together");
        assertThatThrownBy(() -> router("https://127.0.0.1:1", "--worker-ca-cert", "client.key"))
                .isInstanceOf(ConfigException.class).hasMessageContaining("--worker-ca-cert");
    }
}
