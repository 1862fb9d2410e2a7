package dev.vllmrouter.discovery;

import java.io.IOException;

import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.Value;
import org.msgpack.value.ValueType;

/**
 * One self-registration of a vLLM engine over ZeroMQ: its role ({@code "P"} prefill / {@code "D"} decode), the
 * {@code host:port} of its HTTP server and its KV-transfer address. vLLM's {@code P2pNcclEngine} sends it every ~3 s
 * from a DEALER socket whose identity is the ZeroMQ address, as one msgpack map
 * {@code {"type": ..., "http_address": ..., "zmq_address": "host:port"}}. vLLM's {@code MoRIIOConnector} sends the
 * same map every 3 s with {@code "zmq_address": "host:IP,handshake:PORT,notify:PORT"} (the peer finds it again in the
 * request id) and three more keys: {@code "transfer_mode"} ({@code "READ"} or {@code "WRITE"}), {@code "tp_size"}
 * and {@code "dp_size"} (integers, 1 when absent). Other keys are ignored.
 *
 * @param transferMode MoRI-IO's {@code READ} or {@code WRITE} (upper case), or {@code null} (P2P-NCCL)
 * @param tpSize       the engine's tensor-parallel size (1 when not sent)
 * @param dpSize       the engine's data-parallel size (1 when not sent)
 */
public record Registration(String type, String httpAddress, String zmqAddress, String transferMode, int tpSize,
                           int dpSize) {

    /** A P2P-NCCL registration. */
    public Registration(String type, String httpAddress, String zmqAddress) {
        this(type, httpAddress, zmqAddress, null, 1, 1);
    }

    public boolean prefill() {
        return type.equals("P");
    }

    /**
     * Decodes one message payload.
     *
     * @throws IllegalArgumentException saying what is wrong with it
     */
    public static Registration decode(byte[] payload) {
        String type = null;
        String http = null;
        String zmq = null;
        String mode = null;
        int tp = 1;
        int dp = 1;
        try (MessageUnpacker unpacker = MessagePack.newDefaultUnpacker(payload)) {
            Value v = unpacker.unpackValue();
            if (v.getValueType() != ValueType.MAP) {
                throw new IllegalArgumentException("not a msgpack map but " + v.getValueType());
            }
            for (var e : v.asMapValue().entrySet()) {
                if (!e.getKey().isStringValue()) {
                    continue;
                }
                String key = e.getKey().asStringValue().asString();
                if (key.equals("tp_size") || key.equals("dp_size")) {
                    int size = size(key, e.getValue());
                    if (key.equals("tp_size")) {
                        tp = size;
                    } else {
                        dp = size;
                    }
                    continue;
                }
                if (!e.getValue().isStringValue()) {
                    continue;
                }
                String value = e.getValue().asStringValue().asString();
                switch (key) {
                    case "type" -> type = value;
                    case "http_address" -> http = value;
                    case "zmq_address" -> zmq = value;
                    case "transfer_mode" -> mode = value.toUpperCase(java.util.Locale.ROOT);
                    default -> { }
                }
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae) {
                throw iae;
            }
            throw new IllegalArgumentException("not msgpack: " + e.getMessage(), e);
        }
        if (!"P".equals(type) && !"D".equals(type)) {
            throw new IllegalArgumentException("type: '" + type + "' (expected P or D)");
        }
        if (!isHostPort(http)) {
            throw new IllegalArgumentException("http_address: '" + http + "' (expected host:port)");
        }
        if (mode != null && !mode.equals("READ") && !mode.equals("WRITE")) {
            throw new IllegalArgumentException("transfer_mode: '" + mode + "' (expected READ or WRITE)");
        }
        if (mode == null ? !isHostPort(zmq) : !isMoriioAddress(zmq)) {
            throw new IllegalArgumentException("zmq_address: '" + zmq + "' (expected " + (mode == null ? "host:port"
                    : "host:IP,handshake:PORT,notify:PORT") + ")");
        }
        return new Registration(type, http, zmq, mode, tp, dp);
    }

    /** Whether this is a MoRI-IO engine's registration (it names a transfer mode). */
    public boolean moriio() {
        return transferMode != null;
    }

    private static int size(String key, Value v) {
        if (!v.isIntegerValue() || !v.asIntegerValue().isInIntRange() || v.asIntegerValue().toInt() < 1) {
            throw new IllegalArgumentException(key + ": " + v + " (expected a positive integer)");
        }
        return v.asIntegerValue().toInt();
    }

    /** MoRI-IO's {@code host:IP,handshake:PORT,notify:PORT} (vLLM's parser splits each part on its first colon). */
    static boolean isMoriioAddress(String s) {
        if (s == null || s.contains("/")) {
            return false;
        }
        String host = null;
        String handshake = null;
        String notify = null;
        for (String part : s.split(",")) {
            int colon = part.indexOf(':');
            if (colon < 0) {
                return false;
            }
            String value = part.substring(colon + 1).strip();
            switch (part.substring(0, colon).strip()) {
                case "host" -> host = value;
                case "handshake" -> handshake = value;
                case "notify" -> notify = value;
                default -> { }
            }
        }
        return host != null && !host.isEmpty() && isPort(handshake) && isPort(notify);
    }

    private static boolean isPort(String p) {
        return p != null && !p.isEmpty() && p.length() <= 5 && p.chars().allMatch(Character::isDigit)
                && Integer.parseInt(p) <= 65535;
    }

    private static boolean isHostPort(String s) {
        if (s == null) {
            return false;
        }
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1 || s.contains("/")) {
            return false;
        }
        String port = s.substring(colon + 1);
        return port.length() <= 5 && port.chars().allMatch(Character::isDigit) && Integer.parseInt(port) <= 65535;
    }
}
