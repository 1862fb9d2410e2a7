package dev.vllmrouter.kvevents;

import java.util.List;

/**
 * One decoded vLLM KV-cache event ({@code vllm/distributed/kv_events.py}), whichever encoding carried it. Engine hashes
 * are the 64 bits of vLLM's {@code ExternalBlockHash}: a uint64 (often at or above 2^63) as its two's-complement
 * {@code long}, a signed int as is, bytes as their last 8 bytes big-endian.
 */
public sealed interface KvEvent {

    /**
     * {@code BlockStored}.
     *
     * @param parentHash  the engine hash of the block before the first, or {@code null} at a chain's start
     * @param tokenIds    all stored blocks' tokens concatenated (empty for a tier change of known blocks)
     * @param loraName    the adapter name, or {@code null}; {@code lora:<id>} from the deprecated {@code lora_id} when
     *                    only that is sent
     * @param medium      vLLM's tier name, or {@code null} (GPU)
     * @param extraKeys   per block, its extra hash inputs in canonical text form ({@code s:<str>}, {@code i:<int>},
     *                    {@code b:<hex>}, {@code f:<float>}, {@code [a,b]} for a tuple, {@code n} for nil), an empty
     *                    list when the block has none; {@code null} when the event has no {@code extra_keys}
     * @param groupIdx    the KV-cache group, or {@code null}
     * @param specKind    the group's attention kind ({@code full_attention}, ...), or {@code null}
     */
    record BlockStored(long[] blockHashes, Long parentHash, int[] tokenIds, int blockSize, String loraName,
                       String medium, List<List<String>> extraKeys, Integer groupIdx, String specKind)
            implements KvEvent {
    }

    /** {@code BlockRemoved}: blocks evicted from {@code medium} ({@code null}: GPU). */
    record BlockRemoved(long[] blockHashes, String medium, Integer groupIdx) implements KvEvent {
    }

    /** {@code AllBlocksCleared}: the engine's whole prefix cache was reset. */
    record AllBlocksCleared() implements KvEvent {
    }

    /** An event of a type this router does not know; ignored. */
    record Unknown(String type) implements KvEvent {
    }

    /**
     * One published batch ({@code EventBatch}).
     *
     * @param ts     the publisher's unix time in seconds
     * @param dpRank the publisher's data-parallel rank, or {@code null}
     */
    record Batch(double ts, List<KvEvent> events, Integer dpRank) {
    }
}
