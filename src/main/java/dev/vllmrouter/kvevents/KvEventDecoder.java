package dev.vllmrouter.kvevents;

import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ArrayValue;
import org.msgpack.value.IntegerValue;
import org.msgpack.value.Value;

/**
 * Decodes the msgpack payload of one vLLM KV-event message into a {@link KvEvent.Batch}, whichever encoding the engine
 * used (see docs/policies.md and the wire-format notes):
 * <ul>
 *   <li>the batch as a positional array {@code [ts, events, data_parallel_rank?]} (every released vLLM) or a map
 *       {@code {ts, events, data_parallel_rank}};</li>
 *   <li>each event as a tagged positional array {@code ["BlockStored", block_hashes, parent_block_hash, token_ids,
 *       block_size, lora_id, medium, lora_name, extra_keys, group_idx, kv_cache_spec_kind, ...]} (vLLM up to 0.23;
 *       older engines stop after fewer fields) or a tagged map {@code {"type": "BlockStored", ...}} (0.24 and later;
 *       key order free, defaulted fields omitted);</li>
 *   <li>block hashes as uint64 (values at or above 2^63 included), signed ints, or bytes (last 8 bytes, big-endian).</li>
 * </ul>
 * Unknown map keys, extra trailing array elements and unknown event types are ignored. Anything else malformed is an
 * {@link IllegalArgumentException} naming the field. Pure and stateless.
 */
public final class KvEventDecoder {
    private static final String[] STORED_FIELDS = {"block_hashes", "parent_block_hash", "token_ids", "block_size",
            "lora_id", "medium", "lora_name", "extra_keys", "group_idx", "kv_cache_spec_kind"};
    private static final String[] REMOVED_FIELDS = {"block_hashes", "medium", "group_idx"};

    private KvEventDecoder() {
    }

    /** Decodes one payload (the third frame of a message). */
    public static KvEvent.Batch decode(byte[] payload) {
        Value root;
        try (MessageUnpacker unpacker = MessagePack.newDefaultUnpacker(payload)) {
            root = unpacker.unpackValue();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not msgpack: " + e.getMessage(), e);
        }
        Value ts;
        Value events;
        Value rank;
        if (root.isArrayValue()) {
            ArrayValue a = root.asArrayValue();
            ts = at(a, 0);
            events = at(a, 1);
            rank = at(a, 2);
        } else if (root.isMapValue()) {
            Map<String, Value> m = fields(root);
            ts = m.get("ts");
            events = m.get("events");
            rank = m.get("data_parallel_rank");
        } else {
            throw new IllegalArgumentException("batch: expected an array or a map, got " + root.getValueType());
        }
        if (events == null || !events.isArrayValue()) {
            throw new IllegalArgumentException("batch: events is not an array");
        }
        List<KvEvent> out = new ArrayList<>(events.asArrayValue().size());
        for (Value e : events.asArrayValue()) {
            out.add(event(e));
        }
        double time = ts != null && ts.isNumberValue()
                ? (ts.isFloatValue() ? ts.asFloatValue().toDouble() : ts.asIntegerValue().toLong()) : 0;
        return new KvEvent.Batch(time, out, optInt(rank, "data_parallel_rank"));
    }

    static KvEvent event(Value e) {
        String type;
        Map<String, Value> f;
        if (e.isArrayValue()) {
            ArrayValue a = e.asArrayValue();
            if (a.size() == 0 || !a.get(0).isStringValue()) {
                throw new IllegalArgumentException("event: an array without a type tag");
            }
            type = a.get(0).asStringValue().asString();
            String[] names = switch (type) {
                case "BlockStored" -> STORED_FIELDS;
                case "BlockRemoved" -> REMOVED_FIELDS;
                default -> new String[0];
            };
            f = new HashMap<>();
            for (int i = 0; i < names.length && i + 1 < a.size(); i++) {
                f.put(names[i], a.get(i + 1));
            }
        } else if (e.isMapValue()) {
            f = fields(e);
            Value t = f.get("type");
            if (t == null || !t.isStringValue()) {
                throw new IllegalArgumentException("event: a map without a string \"type\"");
            }
            type = t.asStringValue().asString();
        } else {
            throw new IllegalArgumentException("event: expected an array or a map, got " + e.getValueType());
        }
        return switch (type) {
            case "BlockStored" -> stored(f);
            case "BlockRemoved" -> new KvEvent.BlockRemoved(hashes(f.get("block_hashes")),
                    optString(f.get("medium"), "medium"), optInt(f.get("group_idx"), "group_idx"));
            case "AllBlocksCleared" -> new KvEvent.AllBlocksCleared();
            default -> new KvEvent.Unknown(type);
        };
    }

    private static KvEvent.BlockStored stored(Map<String, Value> f) {
        long[] hashes = hashes(f.get("block_hashes"));
        Value parent = f.get("parent_block_hash");
        Long parentHash = parent == null || parent.isNilValue() ? null : hash(parent);
        int[] tokens = tokens(f.get("token_ids"));
        Integer blockSize = optInt(f.get("block_size"), "block_size");
        if (blockSize == null || blockSize < 1) {
            throw new IllegalArgumentException("BlockStored: block_size " + f.get("block_size"));
        }
        String lora = optString(f.get("lora_name"), "lora_name");
        Integer loraId = optInt(f.get("lora_id"), "lora_id");
        if (lora == null && loraId != null) {
            lora = "lora:" + loraId;
        }
        List<List<String>> extra = null;
        Value ek = f.get("extra_keys");
        if (ek != null && !ek.isNilValue()) {
            if (!ek.isArrayValue()) {
                throw new IllegalArgumentException("BlockStored: extra_keys is not an array");
            }
            extra = new ArrayList<>();
            for (Value block : ek.asArrayValue()) {
                List<String> parts = new ArrayList<>();
                if (block.isArrayValue()) {
                    for (Value p : block.asArrayValue()) {
                        parts.add(canonical(p));
                    }
                } else if (!block.isNilValue()) {
                    parts.add(canonical(block));
                }
                extra.add(List.copyOf(parts));
            }
            if (extra.size() != hashes.length) {
                throw new IllegalArgumentException("BlockStored: " + extra.size() + " extra_keys for "
                        + hashes.length + " blocks");
            }
        }
        return new KvEvent.BlockStored(hashes, parentHash, tokens, blockSize, lora,
                optString(f.get("medium"), "medium"), extra, optInt(f.get("group_idx"), "group_idx"),
                optString(f.get("kv_cache_spec_kind"), "kv_cache_spec_kind"));
    }

    /** The canonical text of one extra-key element (see {@link KvEvent.BlockStored#extraKeys()}). */
    static String canonical(Value v) {
        return switch (v.getValueType()) {
            case NIL -> "n";
            case STRING -> "s:" + v.asStringValue().asString();
            case INTEGER -> "i:" + v.asIntegerValue().toBigInteger();
            case BINARY -> "b:" + HexFormat.of().formatHex(v.asBinaryValue().asByteArray());
            case BOOLEAN -> "t:" + v.asBooleanValue().getBoolean();
            case FLOAT -> "f:" + v.asFloatValue().toDouble();
            case ARRAY -> {
                StringBuilder sb = new StringBuilder("[");
                for (Value p : v.asArrayValue()) {
                    sb.append(sb.length() == 1 ? "" : ",").append(canonical(p));
                }
                yield sb.append(']').toString();
            }
            default -> v.toJson();
        };
    }

    static long[] hashes(Value v) {
        if (v == null || !v.isArrayValue()) {
            throw new IllegalArgumentException("block_hashes: expected an array, got " + v);
        }
        ArrayValue a = v.asArrayValue();
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = hash(a.get(i));
        }
        return out;
    }

    /** An engine hash as 64 bits: uint64 (also >= 2^63), int64, or bytes (the last 8, big-endian). */
    static long hash(Value v) {
        if (v.isIntegerValue()) {
            IntegerValue i = v.asIntegerValue();
            if (i.isInLongRange()) {
                return i.toLong();
            }
            BigInteger big = i.toBigInteger();
            if (big.bitLength() > 64) {
                throw new IllegalArgumentException("block hash out of 64 bits: " + big);
            }
            return big.longValue();
        }
        if (v.isBinaryValue()) {
            byte[] b = v.asBinaryValue().asByteArray();
            long h = 0;
            for (int i = Math.max(0, b.length - 8); i < b.length; i++) {
                h = (h << 8) | (b[i] & 0xFF);
            }
            return h;
        }
        throw new IllegalArgumentException("block hash: expected an integer or bytes, got " + v.getValueType());
    }

    private static int[] tokens(Value v) {
        if (v == null || v.isNilValue()) {
            return new int[0];
        }
        if (!v.isArrayValue()) {
            throw new IllegalArgumentException("token_ids: expected an array, got " + v.getValueType());
        }
        ArrayValue a = v.asArrayValue();
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            Value t = a.get(i);
            if (!t.isIntegerValue() || !t.asIntegerValue().isInIntRange()) {
                throw new IllegalArgumentException("token_ids[" + i + "]: " + t);
            }
            out[i] = t.asIntegerValue().toInt();
        }
        return out;
    }

    private static Map<String, Value> fields(Value map) {
        Map<String, Value> out = new HashMap<>();
        for (Map.Entry<Value, Value> e : map.asMapValue().entrySet()) {
            if (e.getKey().isStringValue()) {
                out.put(e.getKey().asStringValue().asString(), e.getValue());
            }
        }
        return out;
    }

    private static Value at(ArrayValue a, int i) {
        return i < a.size() ? a.get(i) : null;
    }

    private static Integer optInt(Value v, String name) {
        if (v == null || v.isNilValue()) {
            return null;
        }
        if (!v.isIntegerValue() || !v.asIntegerValue().isInIntRange()) {
            throw new IllegalArgumentException(name + ": expected an integer, got " + v);
        }
        return v.asIntegerValue().toInt();
    }

    private static String optString(Value v, String name) {
        if (v == null || v.isNilValue()) {
            return null;
        }
        if (!v.isStringValue()) {
            throw new IllegalArgumentException(name + ": expected a string, got " + v);
        }
        return v.asStringValue().asString();
    }
}
