package dev.vllmrouter.kvevents;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vllmrouter.kvevents.Msgpack.U64;

/**
 * Golden decoding of batches shaped as vLLM v0.9, v0.23 and v0.26 publish them (the bytes are built here from the
 * documented shapes: vllm/distributed/kv_events.py at those versions and a captured v0.26.0 batch).
 */
class KvEventDecoderTest {
    /** 15760518052499183552 from the captured v0.26.0 batch: above 2^63. */
    private static final long BIG = Long.parseUnsignedLong("15760518052499183552");
    private static final long TOP = 0xFFFF_FFFF_FFFF_FFFFL;

    private static List<Integer> tokens(int n, int from) {
        List<Integer> t = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            t.add(from + i);
        }
        return t;
    }

    private static int[] ints(List<Integer> t) {
        return t.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void v09TaggedArraysEndAtLoraIdAndTheBatchHasNoRank() {
        byte[] payload = Msgpack.pack(List.of(1.7e9, List.of(
                Arrays.asList("BlockStored", List.of(new U64(BIG), 42), null, tokens(32, 100), 16, null),
                List.of("BlockRemoved", List.of(new U64(TOP))),
                List.of("AllBlocksCleared"))));
        KvEvent.Batch batch = KvEventDecoder.decode(payload);
        assertThat(batch.ts()).isEqualTo(1.7e9);
        assertThat(batch.dpRank()).isNull();
        assertThat(batch.events()).hasSize(3);
        KvEvent.BlockStored s = (KvEvent.BlockStored) batch.events().get(0);
        assertThat(s.blockHashes()).containsExactly(BIG, 42L);
        assertThat(s.parentHash()).isNull();
        assertThat(s.tokenIds()).containsExactly(ints(tokens(32, 100)));
        assertThat(s.blockSize()).isEqualTo(16);
        assertThat(s.loraName()).isNull();
        assertThat(s.medium()).isNull();
        assertThat(s.extraKeys()).isNull();
        assertThat(s.groupIdx()).isNull();
        KvEvent.BlockRemoved r = (KvEvent.BlockRemoved) batch.events().get(1);
        assertThat(r.blockHashes()).containsExactly(-1L);
        assertThat(r.medium()).isNull();
        assertThat(batch.events().get(2)).isInstanceOf(KvEvent.AllBlocksCleared.class);
    }

    @Test
    void v023TaggedArraysCarryEveryFieldInPosition() {
        byte[] payload = Msgpack.pack(List.of(1789095808.25, List.of(
                Arrays.asList("BlockStored", List.of(new U64(BIG), new U64(1L << 63)), new U64(TOP - 1),
                        tokens(32, 7), 16, 3, "GPU", "sql-lora",
                        Arrays.asList(List.of("sql-lora", "salt-1"), List.of("sql-lora", List.of("mmhash", 0))),
                        0, "full_attention", null, "a-future-field"),
                List.of("BlockRemoved", List.of(new U64(BIG)), "CPU", 1),
                List.of("SomethingNew", 1, 2)), 2));
        KvEvent.Batch batch = KvEventDecoder.decode(payload);
        assertThat(batch.dpRank()).isEqualTo(2);
        KvEvent.BlockStored s = (KvEvent.BlockStored) batch.events().get(0);
        assertThat(s.blockHashes()).containsExactly(BIG, Long.MIN_VALUE);
        assertThat(s.parentHash()).isEqualTo(TOP - 1);
        assertThat(s.loraName()).isEqualTo("sql-lora");
        assertThat(s.medium()).isEqualTo("GPU");
        assertThat(s.extraKeys()).containsExactly(List.of("s:sql-lora", "s:salt-1"),
                List.of("s:sql-lora", "[s:mmhash,i:0]"));
        assertThat(s.groupIdx()).isZero();
        assertThat(s.specKind()).isEqualTo("full_attention");
        KvEvent.BlockRemoved r = (KvEvent.BlockRemoved) batch.events().get(1);
        assertThat(r.blockHashes()).containsExactly(BIG);
        assertThat(r.medium()).isEqualTo("CPU");
        assertThat(r.groupIdx()).isEqualTo(1);
        assertThat(batch.events().get(2)).isEqualTo(new KvEvent.Unknown("SomethingNew"));
    }

    @Test
    void v026TaggedMapsInAnyKeyOrderWithUnknownKeys() {
        // the captured vLLM 0.26.0 batch (Qwen3-8B), keys shuffled, plus a field this router does not know
        Map<String, Object> stored = new LinkedHashMap<>();
        stored.put("token_ids", tokens(16, 151644));
        stored.put("type", "BlockStored");
        stored.put("block_hashes", List.of(new U64(BIG)));
        stored.put("parent_block_hash", null);
        stored.put("block_size", 16);
        stored.put("lora_id", null);
        stored.put("medium", "GPU");
        stored.put("lora_name", null);
        stored.put("extra_keys", Arrays.asList((Object) null));
        stored.put("group_idx", 0);
        stored.put("kv_cache_spec_kind", "full_attention");
        stored.put("locality", "LOCAL");
        Map<String, Object> removed = new LinkedHashMap<>();
        removed.put("medium", "GPU");
        removed.put("block_hashes", List.of(new U64(BIG)));
        removed.put("type", "BlockRemoved");
        byte[] payload = Msgpack.pack(List.of(1789095808.8378847,
                List.of(stored, removed, Map.of("type", "AllBlocksCleared")), 0));
        KvEvent.Batch batch = KvEventDecoder.decode(payload);
        assertThat(batch.ts()).isEqualTo(1789095808.8378847);
        assertThat(batch.dpRank()).isZero();
        KvEvent.BlockStored s = (KvEvent.BlockStored) batch.events().get(0);
        assertThat(s.blockHashes()).containsExactly(BIG);
        assertThat(s.tokenIds()).containsExactly(ints(tokens(16, 151644)));
        assertThat(s.extraKeys()).containsExactly(List.of());
        assertThat(s.specKind()).isEqualTo("full_attention");
        assertThat(((KvEvent.BlockRemoved) batch.events().get(1)).blockHashes()).containsExactly(BIG);
        assertThat(batch.events().get(2)).isInstanceOf(KvEvent.AllBlocksCleared.class);
    }

    @Test
    void aBatchMayBeAMapAndHashesMayBeBytes() {
        byte[] sha = new byte[32];
        for (int i = 0; i < 32; i++) {
            sha[i] = (byte) (0xE0 + i % 16);
        }
        Map<String, Object> batch = new LinkedHashMap<>();
        batch.put("events", List.of(Map.of("type", "BlockRemoved", "block_hashes", List.of(sha, -7L),
                "medium", "GPU")));
        batch.put("ts", 5.0);
        batch.put("data_parallel_rank", 1);
        KvEvent.Batch b = KvEventDecoder.decode(Msgpack.pack(batch));
        assertThat(b.dpRank()).isEqualTo(1);
        // the last 8 bytes big-endian: e8 e9 ea eb ec ed ee ef
        assertThat(((KvEvent.BlockRemoved) b.events().get(0)).blockHashes())
                .containsExactly(0xE8E9EAEBECEDEEEFL, -7L);
    }

    @Test
    void malformedPayloadsNameWhatIsWrong() {
        assertThatThrownBy(() -> KvEventDecoder.decode(new byte[] {(byte) 0xC1}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> KvEventDecoder.decode(Msgpack.pack("text")))
                .hasMessageContaining("batch: expected an array or a map");
        assertThatThrownBy(() -> KvEventDecoder.decode(Msgpack.pack(List.of(1.0, List.of(
                List.of("BlockStored", List.of("not-a-hash"), 0, List.of(), 16))))))
                .hasMessageContaining("block hash");
        assertThatThrownBy(() -> KvEventDecoder.decode(Msgpack.pack(List.of(1.0, List.of(
                Map.of("block_hashes", List.of(1)))))))
                .hasMessageContaining("without a string \"type\"");
        assertThatThrownBy(() -> KvEventDecoder.decode(Msgpack.pack(List.of(1.0, List.of(
                Arrays.asList("BlockStored", List.of(1), null, List.of(1, 2), 0, null))))))
                .hasMessageContaining("block_size");
    }
}
