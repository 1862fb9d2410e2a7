package dev.vllmrouter.discovery;

import java.io.IOException;

import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.Value;
import org.msgpack.value.ValueType;

/**
 * One self-registration of a vLLM P2P-NCCL engine: its role ({@code "P"} prefill / {@code "D"} decode), the
 * {@code host:port} of its HTTP server and of its KV-transfer (ZeroMQ) endpoint. vLLM's {@code P2pNcclEngine} sends
 * it every ~3 s from a DEALER socket whose identity is the ZeroMQ address, as one msgpack map
 * {@code {"type": ..., "http_address": ..., "zmq_address": ...}}; other keys are ignored.
 */
public record Registration(String type, String httpAddress, String zmqAddress) {

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
        try (MessageUnpacker unpacker = MessagePack.newDefaultUnpacker(payload)) {
            Value v = unpacker.unpackValue();
            if (v.getValueType() != ValueType.MAP) {
                throw new IllegalArgumentException("not a msgpack map but " + v.getValueType());
            }
            for (var e : v.asMapValue().entrySet()) {
                if (!e.getKey().isStringValue() || !e.getValue().isStringValue()) {
                    continue;
                }
                String value = e.getValue().asStringValue().asString();
                switch (e.getKey().asStringValue().asString()) {
                    case "type" -> type = value;
                    case "http_address" -> http = value;
                    case "zmq_address" -> zmq = value;
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
        if (!isHostPort(zmq)) {
            throw new IllegalArgumentException("zmq_address: '" + zmq + "' (expected host:port)");
        }
        return new Registration(type, http, zmq);
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
