package dev.vllmrouter.kvevents;

import java.util.Comparator;
import java.util.List;
import java.util.function.Supplier;

import dev.vllmrouter.kvindex.KvIndex;

/**
 * The KV-event series, rendered at scrape time from the subscriber's sources (so a removed worker's series go with it):
 * per worker {@code vllm_router_kv_events_state} (0 exact, 1 degraded, 2 fallback), {@code _connected},
 * {@code _last_sequence}, {@code _age_seconds}, the counters {@code _batches_total}, {@code _total} (events),
 * {@code _gaps_total}, {@code _replays_total}, {@code _replay_failures_total}, {@code _resets_total},
 * {@code _decode_errors_total}, and {@code vllm_router_kv_index_blocks}; for the whole index
 * {@code vllm_router_kv_index_entries}, {@code _max_entries}, {@code _evictions_total}, {@code _speculative_entries}
 * and {@code _bytes} (estimated). docs/metrics.md lists them.
 */
public final class KvEventGauges implements Supplier<CharSequence> {
    private final KvEventSubscriber subscriber;
    private final PredictionCheck check;

    public KvEventGauges(KvEventSubscriber subscriber) {
        this(subscriber, null);
    }

    /** @param check the closed loop of routing with the index, whose per-worker outcomes are reported, or null */
    public KvEventGauges(KvEventSubscriber subscriber, PredictionCheck check) {
        this.subscriber = subscriber;
        this.check = check;
    }

    @Override
    public CharSequence get() {
        List<SourceStatus> all = subscriber.statuses().stream()
                .sorted(Comparator.comparing(SourceStatus::worker)).toList();
        StringBuilder out = new StringBuilder(512 + all.size() * 1200);
        perWorker(out, all, "vllm_router_kv_events_state", "gauge",
                "KV-event index state of the worker: 0 exact, 1 degraded, 2 fallback", s -> s.state().metricValue());
        perWorker(out, all, "vllm_router_kv_events_connected", "gauge",
                "1 while the connection to the worker's KV-event publisher is up", s -> s.connected() ? 1 : 0);
        perWorker(out, all, "vllm_router_kv_events_last_sequence", "gauge",
                "Sequence number of the last KV-event batch applied (-1: none)", SourceStatus::lastSequence);
        family(out, "vllm_router_kv_events_age_seconds", "gauge", "Seconds since the worker's last KV-event batch");
        for (SourceStatus s : all) {
            if (s.ageSeconds() >= 0) {
                sample(out, "vllm_router_kv_events_age_seconds", s.worker(), String.format(java.util.Locale.ROOT, "%.3f", s.ageSeconds()));
            }
        }
        perWorker(out, all, "vllm_router_kv_events_batches_total", "counter", "KV-event batches applied",
                SourceStatus::batches);
        perWorker(out, all, "vllm_router_kv_events_total", "counter", "KV events applied", SourceStatus::events);
        perWorker(out, all, "vllm_router_kv_events_gaps_total", "counter", "Jumps in the KV-event sequence",
                SourceStatus::gaps);
        perWorker(out, all, "vllm_router_kv_events_replays_total", "counter", "Sequence gaps closed by a replay",
                SourceStatus::replays);
        perWorker(out, all, "vllm_router_kv_events_replay_failures_total", "counter",
                "Replays that could not close a gap", SourceStatus::replayFailures);
        perWorker(out, all, "vllm_router_kv_events_resets_total", "counter",
                "Times the worker's index entries were dropped (lost batches, engine restart, undecodable batch)",
                SourceStatus::resets);
        perWorker(out, all, "vllm_router_kv_events_decode_errors_total", "counter",
                "KV-event messages or batches that could not be decoded", SourceStatus::decodeErrors);
        perWorker(out, all, "vllm_router_kv_index_blocks", "gauge", "Blocks the KV-event index holds for the worker",
                SourceStatus::blocks);
        if (check != null) {
            predictions(out, all);
        }
        KvIndex.Stats stats = subscriber.index().stats();
        single(out, "vllm_router_kv_index_entries", "gauge", "(worker, block) entries the KV-event index holds",
                stats.blocks());
        single(out, "vllm_router_kv_index_max_entries", "gauge", "The index's bound (--kv-index-max-blocks)",
                stats.maxBlocks());
        single(out, "vllm_router_kv_index_evictions_total", "counter", "Entries dropped to stay within the bound",
                stats.evictions());
        single(out, "vllm_router_kv_index_speculative_entries", "gauge",
                "Routing-time speculative entries not yet expired", stats.speculative());
        single(out, "vllm_router_kv_index_bytes", "gauge", "Estimated heap held by the index entries",
                stats.approxBytes());
        return out;
    }

    private void predictions(StringBuilder out, List<SourceStatus> all) {
        String name = "vllm_router_kv_predictions_total";
        family(out, name, "counter", "Answers whose cached_tokens were checked against the index's prediction, by "
                + "outcome: exact, over (the index claimed more than the worker used), under");
        for (SourceStatus s : all) {
            PredictionCheck.Counts c = check.counts(s.worker());
            if (c != null) {
                labelled(out, name, s.worker(), "exact", c.exact());
                labelled(out, name, s.worker(), "over", c.over());
                labelled(out, name, s.worker(), "under", c.under());
            }
        }
        countsFamily(out, all, "vllm_router_kv_predicted_cached_tokens_total", "counter",
                "Prompt tokens the index predicted the worker would serve from its prefix cache (checked answers)",
                c -> Long.toString(c.predictedTokens()));
        countsFamily(out, all, "vllm_router_kv_reported_cached_tokens_total", "counter",
                "Prompt tokens the worker reported as cached (cached_tokens) in the same answers",
                c -> Long.toString(c.reportedTokens()));
        countsFamily(out, all, "vllm_router_kv_prediction_accuracy", "gauge",
                "Share of the checked answers whose cached_tokens the index predicted exactly",
                c -> String.format(java.util.Locale.ROOT, "%.4f", c.accuracy()));
        countsFamily(out, all, "vllm_router_kv_prediction_demoted", "gauge",
                "1 while the worker is demoted to degraded because its predictions keep missing",
                c -> c.demoted() ? "1" : "0");
    }

    private void countsFamily(StringBuilder out, List<SourceStatus> all, String name, String type, String help,
                              java.util.function.Function<PredictionCheck.Counts, String> value) {
        family(out, name, type, help);
        for (SourceStatus s : all) {
            PredictionCheck.Counts c = check.counts(s.worker());
            if (c != null) {
                sample(out, name, s.worker(), value.apply(c));
            }
        }
    }

    private static void labelled(StringBuilder out, String name, String worker, String outcome, long value) {
        StringBuilder line = new StringBuilder();
        sample(line, name, worker, Long.toString(value));
        int brace = line.indexOf("\"}");
        line.insert(brace + 1, ",outcome=\"" + outcome + "\"");
        out.append(line);
    }

    private interface Value {
        long of(SourceStatus s);
    }

    private static void perWorker(StringBuilder out, List<SourceStatus> all, String name, String type, String help,
                                  Value value) {
        family(out, name, type, help);
        for (SourceStatus s : all) {
            sample(out, name, s.worker(), Long.toString(value.of(s)));
        }
    }

    private static void single(StringBuilder out, String name, String type, String help, long value) {
        family(out, name, type, help);
        out.append(name).append(' ').append(value).append('\n');
    }

    private static void family(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, String worker, String value) {
        out.append(name).append("{worker=\"");
        for (int i = 0; i < worker.length(); i++) {
            char c = worker.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                default -> out.append(c);
            }
        }
        out.append("\"} ").append(value).append('\n');
    }
}
