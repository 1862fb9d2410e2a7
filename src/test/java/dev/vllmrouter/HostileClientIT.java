package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vllmrouter.sim.SimConfig;
import dev.vllmrouter.sim.SimWorker;
import dev.vllmrouter.testing.Fleet;
import dev.vllmrouter.testing.RouterProcess;
import dev.vllmrouter.testing.Scrape;
import dev.vllmrouter.testing.WireClient;

/**
 * Issue 12, "Hostile clients", on the client listener: what an unauthenticated client can do with connections alone
 * (hold descriptors, send a head or a body slowly, never finish a TLS handshake, stay idle) and with TLS (offer
 * weak suites), and what the operator sees for bad TLS files. Real sockets; nothing waits by sleeping and nothing
 * asserts timing: each limit is set to 1 s and the test waits (bounded) for the router to close the connection.
 */
class HostileClientIT {
    private static final String CHAT = "{\"model\":\"demo\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\","
            + "\"content\":\"hi\"}]}";

    @TempDir
    static Path dir;
    private static Path cert;
    private static Path key;
    private static Path otherKey;

    @BeforeAll
    static void certificates() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is needed to make test certificates");
        cert = dir.resolve("cert.pem");
        key = dir.resolve("key.pem");
        otherKey = dir.resolve("other-key.pem");
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext",
                "subjectAltName=IP:127.0.0.1", "-keyout", key.toString(), "-out", cert.toString());
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", otherKey.toString());
    }

    private static void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0).as("openssl " + args[0] + ": " + out)
                .isTrue();
    }

    private static String chatRequest() {
        return "POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\nContent-Length: "
                + CHAT.length() + "\r\n\r\n" + CHAT;
    }

    // ---- descriptors

    @Test
    void idleSocketsPastTheDescriptorLimitAreRefusedAndTheListenerServesAgainOnceTheyClose() throws Exception {
        try (SimWorker worker = SimWorker.start(SimConfig.builder().workerId("sim-0").build());
             RouterProcess router = RouterProcess.startWithDescriptorLimit(256, Map.of(), "--port", "0",
                     "--prometheus-port", "0", "--worker-urls", worker.url(),
                     // the flood must stay while the test looks: no limit cuts it
                     "--client-header-timeout-secs", "600", "--client-idle-timeout-secs", "600")) {
            int port = router.awaitListening();
            int metricsPort = router.metricsPort();
            List<Socket> flood = new ArrayList<>();
            try (WireClient existing = WireClient.connect(port)) {
                assertThat(existing.send(chatRequest()).read().status()).isEqualTo(200);
                try {
                    for (int i = 0; i < 300; i++) {
                        flood.add(new Socket("127.0.0.1", port));
                    }
                    await().atMost(Duration.ofSeconds(30)).until(() -> Scrape.from(metricsPort)
                            .value("vllm_router_client_connections_closed_total{reason=\"refused\"}") > 0);
                    assertThat(existing.send(chatRequest()).read().status())
                            .as("a connection opened before the flood is served during it").isEqualTo(200);
                    try (WireClient late = WireClient.connect(port)) {
                        late.send("GET /liveness HTTP/1.1\r\nHost: r\r\n\r\n");
                        assertThat(late.read().status()).as("a new connection over the cap").isEqualTo(503);
                    }
                    assertThat(Scrape.from(metricsPort).value("vllm_router_client_connections"))
                            .isLessThanOrEqualTo(Scrape.from(metricsPort).value("vllm_router_client_connections_max"));
                } finally {
                    for (Socket s : flood) {
                        s.close();
                    }
                }
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    try (WireClient again = WireClient.connect(port)) {
                        assertThat(again.send(chatRequest()).read().status()).isEqualTo(200);
                    }
                });
            }
            assertThat(router.isAlive()).isTrue();
        }
    }

    @Test
    void anAcceptThatRunsOutOfDescriptorsIsRetriedUntilTheyAreFree() throws Exception {
        // a cap above the limit: accept() itself fails with EMFILE ("Too many open files")
        try (RouterProcess router = RouterProcess.startWithDescriptorLimit(256, Map.of(), "--port", "0",
                "--prometheus-port", "0", "--max-client-connections", "100000",
                "--client-header-timeout-secs", "600")) {
            int port = router.awaitListening();
            int metricsPort = router.metricsPort();
            List<Socket> flood = new ArrayList<>();
            try {
                for (int i = 0; i < 300; i++) {
                    flood.add(new Socket("127.0.0.1", port));
                }
                await().atMost(Duration.ofSeconds(30)).until(() -> router.output().contains("accepting a "
                        + "connection failed"));
            } finally {
                for (Socket s : flood) {
                    s.close();
                }
            }
            // while the queued flood is accepted and closed, a new connection may still find no descriptor and be
            // closed unanswered: what matters is that the listener answers again, so such tries are repeated
            await().atMost(Duration.ofSeconds(30)).ignoreExceptionsInstanceOf(java.io.UncheckedIOException.class)
                    .untilAsserted(() -> {
                        try (WireClient again = WireClient.connect(port)) {
                            assertThat(again.send("GET /liveness HTTP/1.1\r\nHost: r\r\n\r\n").read().status())
                                    .isEqualTo(200);
                        }
                    });
            // the metrics listener too: a scrape that still finds no descriptor (a class of its path not yet loaded
            // from its jar) answers 500, which Scrape refuses; the next one, once the flood is closed, answers
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() ->
                    assertThat(Scrape.from(metricsPort).has("vllm_router_client_connections")).isTrue());
            assertThat(router.output()).doesNotContain("terminating now");
        }
    }

    // ---- slow and idle clients

    @Test
    void aConnectionThatSendsNothingIsCutAtTheHeaderTimeout() {
        try (Fleet fleet = Fleet.start(1, "--client-header-timeout-secs", "1");
             WireClient silent = WireClient.connect(fleet.router().port())) {
            assertThat(silent.closedByPeer()).isTrue();
            assertThat(Scrape.of(fleet.metrics())
                    .value("vllm_router_client_connections_closed_total{reason=\"header_timeout\"}")).isEqualTo(1);
        }
    }

    @Test
    void aHeadSentOneByteAtATimeIsCutAtTheHeaderTimeout() throws Exception {
        ScheduledExecutorService drip = Executors.newSingleThreadScheduledExecutor();
        try (Fleet fleet = Fleet.start(1, "--client-header-timeout-secs", "1");
             WireClient slow = WireClient.connect(fleet.router().port())) {
            // a request line, then a header that never ends: one byte every 100 ms, far inside any per-read limit
            slow.send("GET /liveness HTTP/1.1\r\nX-Slow: ");
            drip.scheduleAtFixedRate(() -> {
                try {
                    slow.socket().getOutputStream().write('a');
                } catch (IOException e) {
                    // cut: what the test waits for
                }
            }, 0, 100, TimeUnit.MILLISECONDS);
            assertThat(slow.closedByPeer()).as("cut while bytes still come").isTrue();
        } finally {
            drip.shutdownNow();
        }
    }

    @Test
    void aBodyThatStallsLongerThanTheBodyTimeoutIsCut() {
        try (Fleet fleet = Fleet.start(1, "--client-body-timeout-secs", "1");
             WireClient slow = WireClient.connect(fleet.router().port())) {
            slow.send("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 1000\r\n\r\n{\"model\":\"demo\",");
            WireClient.Response r = slow.read();
            assertThat(r.status()).isEqualTo(408);
            assertThat(slow.closedByPeer()).isTrue();
            assertThat(fleet.worker(0).served()).isZero();
        }
    }

    @Test
    void aBodyTrickledInsideThePauseLimitIsCutByTheMinimumRate() {
        ScheduledExecutorService drip = Executors.newSingleThreadScheduledExecutor();
        try (Fleet fleet = Fleet.start(1, "--client-body-timeout-secs", "1");
             WireClient slow = WireClient.connect(fleet.router().port())) {
            // each pause (300 ms) is far inside the 1 s pause limit: only the rate rule (500 bytes/s after 1 s) cuts
            slow.send("POST /v1/chat/completions HTTP/1.1\r\nHost: r\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 1000\r\n\r\n{");
            drip.scheduleAtFixedRate(() -> {
                try {
                    slow.socket().getOutputStream().write(' ');
                } catch (IOException e) {
                    // cut: what the test waits for
                }
            }, 0, 300, TimeUnit.MILLISECONDS);
            WireClient.Response r = slow.read();
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.bodyText()).contains("--client-body-min-rate");
            assertThat(slow.closedByPeer()).isTrue();
            assertThat(fleet.worker(0).served()).isZero();
        } finally {
            drip.shutdownNow();
        }
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() {
        try (Fleet fleet = Fleet.start(1, "--client-idle-timeout-secs", "1");
             WireClient idle = WireClient.connect(fleet.router().port())) {
            assertThat(idle.send(chatRequest()).read().status()).isEqualTo(200);
            assertThat(idle.closedByPeer()).isTrue();
            assertThat(Scrape.of(fleet.metrics())
                    .value("vllm_router_client_connections_closed_total{reason=\"idle_timeout\"}")).isEqualTo(1);
        }
    }

    @Test
    void aTlsHandshakeThatNeverEndsIsCutAtTheHeaderTimeout() {
        try (Fleet fleet = Fleet.start(1, "--tls-cert-path", cert.toString(), "--tls-key-path", key.toString(),
                "--client-header-timeout-secs", "1");
             WireClient stalled = WireClient.connect(fleet.router().port())) {
            // the first bytes of a TLS record header, then nothing
            stalled.send(new byte[] {0x16, 0x03, 0x01});
            assertThat(endsWithAnyBytes(stalled)).isTrue();
        }
    }

    /** Whether the router ends the connection (after an alert, say) within the client's read timeout. */
    private static boolean endsWithAnyBytes(WireClient client) {
        try {
            client.socket().getInputStream().readAllBytes();
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    // ---- TLS

    @Test
    void tls12OffersOnlyAeadSuites() throws Exception {
        String cbc = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256";
        String gcm = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
        try (Fleet fleet = Fleet.start(1, "--tls-cert-path", cert.toString(), "--tls-key-path", key.toString())) {
            int port = fleet.router().port();
            assertThatThrownBy(() -> tls12(port, cbc)).isInstanceOf(SSLHandshakeException.class);
            assertThat(tls12(port, gcm)).startsWith("HTTP/1.1 200");
        }
        // the client can do CBC: a router configured for it accepts it
        try (Fleet fleet = Fleet.start(1, "--tls-cert-path", cert.toString(), "--tls-key-path", key.toString(),
                "--tls-cipher-suites", cbc + "," + gcm)) {
            assertThat(tls12(fleet.router().port(), cbc)).startsWith("HTTP/1.1 200");
        }
    }

    /** A TLS 1.2 client offering only {@code suite}: the first line of the answer to {@code GET /liveness}. */
    private static String tls12(int port, String suite) throws Exception {
        try (SSLSocket s = (SSLSocket) trusting().getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(15_000);
            s.setEnabledProtocols(new String[] {"TLSv1.2"});
            s.setEnabledCipherSuites(new String[] {suite});
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write("GET /liveness HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    private static SSLContext trusting() throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(cert)) {
            trust.setCertificateEntry("router", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    @Test
    void badTlsFilesStopTheStartWithOneLineAndStatus2AndGoodOnesLogHttps() throws Exception {
        Path malformed = dir.resolve("malformed.pem");
        Files.writeString(malformed, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
        String[][] cases = {
                {cert.toString(), otherKey.toString(), "--tls-key-path", otherKey.toString()},
                {malformed.toString(), key.toString(), "--tls-cert-path", malformed.toString()},
                {cert.toString(), malformed.toString(), "--tls-key-path", malformed.toString()}};
        for (String[] c : cases) {
            try (RouterProcess router = RouterProcess.start(Map.of(), "--port", "0", "--prometheus-port", "0",
                    "--tls-cert-path", c[0], "--tls-key-path", c[1])) {
                assertThat(router.awaitExit()).as(router.output()).isEqualTo(2);
                List<String> errors = router.output().lines().filter(l -> l.startsWith("vllm-router: error:"))
                        .toList();
                assertThat(errors).as(router.output()).hasSize(1);
                assertThat(errors.get(0)).contains(c[2]).contains(c[3]);
                assertThat(router.output()).as("no stack trace").doesNotContain("\tat ");
            }
        }
        try (RouterProcess router = RouterProcess.start(Map.of(), "--port", "0", "--prometheus-port", "0",
                "--tls-cert-path", cert.toString(), "--tls-key-path", key.toString())) {
            router.awaitListening();
            assertThat(router.output()).contains("listening on https://127.0.0.1:")
                    .contains("Prometheus metrics on http://");
        }
    }
}
