package dev.vllmrouter.kvevents;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;

import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

/**
 * Test helper: writes msgpack from plain Java values the way msgspec would (smallest int types, nil, str, bin,
 * arrays, maps in the given order). {@link U64} writes an unsigned 64-bit integer, the type vLLM's block hashes have.
 */
final class Msgpack {
    /** An unsigned 64-bit value given by its bits. */
    record U64(long bits) {
    }

    private Msgpack() {
    }

    static byte[] pack(Object value) {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            write(p, value);
            return p.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(MessageBufferPacker p, Object v) throws IOException {
        switch (v) {
            case null -> p.packNil();
            case U64 u -> p.packBigInteger(new BigInteger(Long.toUnsignedString(u.bits())));
            case Integer i -> p.packInt(i);
            case Long l -> p.packLong(l);
            case Double d -> p.packDouble(d);
            case String s -> p.packString(s);
            case Boolean b -> p.packBoolean(b);
            case byte[] b -> {
                p.packBinaryHeader(b.length);
                p.writePayload(b);
            }
            case List<?> list -> {
                p.packArrayHeader(list.size());
                for (Object o : list) {
                    write(p, o);
                }
            }
            case Map<?, ?> map -> {
                p.packMapHeader(map.size());
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    write(p, e.getKey());
                    write(p, e.getValue());
                }
            }
            default -> throw new IllegalArgumentException("cannot pack " + v.getClass());
        }
    }
}
