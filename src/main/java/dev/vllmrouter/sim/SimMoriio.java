package dev.vllmrouter.sim;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The simulated worker as a vLLM engine with the {@code MoRIIOConnector}: what it checks in
 * {@code kv_transfer_params} and how its two transfer modes order the legs. Off until {@link #mode} is set.
 * <ul>
 *   <li>Every MoRI-IO request needs {@code transfer_id} (vLLM fails the request with a {@code KeyError} otherwise:
 *       here a 500), and a prefill needs the keys {@code remote_block_ids} and {@code remote_engine_id}.</li>
 *   <li>The peer's host and notify port come from {@code kv_transfer_params} or, when {@code null}, from the request
 *       id ({@code ___prefill_addr_<P>___decode_addr_<D>_<32 hex>}, each address
 *       {@code host:IP,handshake:PORT,notify:PORT}); neither → 500, as vLLM's parser raises.</li>
 *   <li><b>WRITE</b>: the decode, once scheduled, tells the prefill where its blocks are (vLLM: a ZeroMQ message to
 *       the prefill's notify port; here {@code POST /moriio/notify} to the prefill's HTTP port, which this simulator
 *       announces as its notify port); the prefill writes the KV there, so it cannot finish before that message:
 *       it waits up to {@value #WRITE_WAIT_SECONDS} s, then fails with 500. A router that sends the prefill first and
 *       waits for it therefore fails, as against a real WRITE deployment.</li>
 *   <li><b>READ</b>: the prefill answers with the parameters vLLM's {@code request_finished} returns (its engine id
 *       {@code host:handshake}, block ids, host, ports, sizes, transfer id); the decode reads from there and needs
 *       {@code remote_block_ids} and {@code remote_engine_id}: without them vLLM logs a warning and recomputes the
 *       prompt, counted in {@link #recomputed()}.</li>
 * </ul>
 * Thread-safety: the mode is volatile; pending WRITE notifications live in a concurrent map.
 */
public final class SimMoriio {
    /** vLLM's {@code MoRIIOConnector} transfer modes. */
    public enum Mode { READ, WRITE }

    static final long WRITE_WAIT_SECONDS = 5;
    private static final Pattern PREFILL_ZMQ = Pattern.compile("___prefill_addr_(.+?)___decode_addr_");
    private static final Pattern DECODE_ZMQ = Pattern.compile("___decode_addr_(.+)_[0-9a-f]{32}(?:-.*)?$");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2))
            .version(HttpClient.Version.HTTP_1_1).build();

    private final SimContext ctx;
    private volatile Mode mode;
    private volatile int httpPort;
    private final ConcurrentHashMap<String, CompletableFuture<Void>> notified = new ConcurrentHashMap<>();
    private final AtomicInteger recomputed = new AtomicInteger();
    private final AtomicInteger transfers = new AtomicInteger();

    SimMoriio(SimContext ctx) {
        this.ctx = ctx;
    }

    /** Turns the MoRI-IO connector on in {@code mode}, or off with {@code null}. */
    public SimMoriio mode(Mode mode) {
        this.mode = mode;
        return this;
    }

    public Mode mode() {
        return mode;
    }

    void httpPort(int port) {
        this.httpPort = port;
    }

    /** The address this engine registers and peers find in the request id: {@code host:IP,handshake:P,notify:P}. */
    public String zmqAddress() {
        return "host:" + ctx.config.host() + ",handshake:" + handshakePort(httpPort) + ",notify:" + httpPort;
    }

    /** Decode requests that could not use a transfer (READ parameters incomplete) and recomputed the prompt. */
    public int recomputed() {
        return recomputed.get();
    }

    /** KV transfers this engine took part in, as prefill or decode. */
    public int transfers() {
        return transfers.get();
    }

    private static int handshakePort(int httpPort) {
        return httpPort + 10000 > 65535 ? httpPort : httpPort + 10000;
    }

    /**
     * Checks a prefill's parameters and, in WRITE mode, waits for the decode's block notification.
     *
     * @return the {@code kv_transfer_params} to answer with (JSON object text)
     * @throws ApiError 500 as vLLM fails such a request
     */
    String prefill(JsonNode kv, String requestId) {
        String transferId = transferId(kv);
        if (!kv.has("remote_block_ids") || !kv.has("remote_engine_id")) {
            throw ApiError.of(500, "MoRIIO: kv_transfer_params lacks remote_block_ids/remote_engine_id");
        }
        if (mode == Mode.WRITE) {
            peer(kv, requestId, DECODE_ZMQ); // the producer writes to the decode: it must be able to find it
            CompletableFuture<Void> done = notified.computeIfAbsent(transferId, t -> new CompletableFuture<>());
            try {
                done.get(WRITE_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw ApiError.of(500, "MoRIIO WRITE: no block notification from the decode for " + transferId);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ApiError.of(500, "interrupted");
            } catch (ExecutionException e) {
                throw ApiError.of(500, e.getMessage());
            } finally {
                notified.remove(transferId);
            }
        }
        transfers.incrementAndGet();
        String host = ctx.config.host();
        return "{\"do_remote_prefill\":true,\"do_remote_decode\":false,\"remote_block_ids\":[1,2],"
                + "\"remote_engine_id\":\"" + host + ":" + handshakePort(httpPort) + "\",\"remote_host\":\"" + host
                + "\",\"remote_handshake_port\":" + handshakePort(httpPort) + ",\"remote_notify_port\":" + httpPort
                + ",\"remote_dp_size\":1,\"tp_size\":1,\"transfer_id\":\"" + transferId + "\"}";
    }

    /** Checks a decode's parameters; in WRITE mode notifies the prefill (before generating). */
    void decode(JsonNode kv, String requestId) {
        String transferId = transferId(kv);
        if (mode == Mode.WRITE) {
            String[] peer = peer(kv, requestId, PREFILL_ZMQ);
            try {
                HttpResponse<Void> res = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + peer[0] + ":"
                                + peer[1] + "/moriio/notify")).timeout(Duration.ofSeconds(5))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"transfer_id\":\"" + transferId + "\"}"))
                        .build(), HttpResponse.BodyHandlers.discarding());
                if (res.statusCode() != 200) {
                    throw ApiError.of(500, "MoRIIO WRITE: the prefill refused the notification: " + res.statusCode());
                }
            } catch (java.io.IOException e) {
                throw ApiError.of(500, "MoRIIO WRITE: cannot notify the prefill at " + peer[0] + ":" + peer[1]);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ApiError.of(500, "interrupted");
            }
        } else {
            JsonNode blocks = kv.get("remote_block_ids");
            if (blocks == null || !blocks.isArray() || blocks.isEmpty() || !kv.has("remote_engine_id")) {
                recomputed.incrementAndGet();
                return;
            }
        }
        transfers.incrementAndGet();
    }

    /** The decode's block notification for {@code transferId} (WRITE). */
    void notified(String transferId) {
        notified.computeIfAbsent(transferId, t -> new CompletableFuture<>()).complete(null);
    }

    private static String transferId(JsonNode kv) {
        JsonNode t = kv.get("transfer_id");
        if (t == null || !t.isTextual()) {
            throw ApiError.of(500, "MoRIIO: kv_transfer_params lacks transfer_id (KeyError: 'transfer_id')");
        }
        return t.textValue();
    }

    /** The peer's {host, notify port}: from the parameters, else from the request id. */
    private static String[] peer(JsonNode kv, String requestId, Pattern which) {
        JsonNode host = kv.get("remote_host");
        JsonNode notify = kv.get("remote_notify_port");
        if (host != null && host.isTextual() && notify != null && notify.canConvertToInt()) {
            return new String[] {host.textValue(), String.valueOf(notify.intValue())};
        }
        Matcher m = requestId == null ? null : which.matcher(requestId);
        if (m == null || !m.find()) {
            throw ApiError.of(500, "Cannot parse peer zmq_address from request_id: " + requestId);
        }
        String h = null;
        String n = null;
        for (String part : m.group(1).split(",")) {
            int colon = part.indexOf(':');
            if (colon > 0) {
                switch (part.substring(0, colon).strip()) {
                    case "host" -> h = part.substring(colon + 1).strip();
                    case "notify" -> n = part.substring(colon + 1).strip();
                    default -> { }
                }
            }
        }
        if (h == null || n == null || !n.chars().allMatch(Character::isDigit) || n.isEmpty()) {
            throw ApiError.of(500, "Malformed zmq_address " + m.group(1)
                    + ": expected 'host:IP,handshake:PORT,notify:PORT' format");
        }
        return new String[] {h, n};
    }
}
