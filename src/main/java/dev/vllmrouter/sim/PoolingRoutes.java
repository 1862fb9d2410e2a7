package dev.vllmrouter.sim;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.http.HeaderNames;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The non-generative inference routes, answered after the time-to-first-token wait (their "prefill"):
 * <ul>
 *   <li>{@code POST /v1/embeddings}: vLLM's shape; one deterministic unit vector per input (8 floats, or
 *       {@code dimensions}), seeded by a hash of the input, so equal inputs get equal vectors;
 *       {@code encoding_format: "base64"} gives little-endian float32 bytes in base64 like OpenAI/vLLM.</li>
 *   <li>{@code POST /v1/rerank}, {@code /rerank}: Jina/vLLM shape, relevance scores in (0, 1) from a hash of
 *       (query, document), sorted best first, cut to {@code top_n}.</li>
 *   <li>{@code POST /v1/audio/transcriptions}: multipart/form-data required; answers
 *       {@code {"text": "<N> bytes received"}} (the body is recorded byte for byte by the request log).</li>
 * </ul>
 */
final class PoolingRoutes {
    private PoolingRoutes() {
    }

    /** 64-bit FNV-1a: a stable seed for deterministic vectors and scores. */
    static long fnv(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xFF;
            h *= 0x100000001b3L;
        }
        return h;
    }

    private static void prefill(SimContext ctx, int promptTokens) {
        ctx.pause(ctx.faults.ttft(ctx.config.ttft()));
        ctx.stats.promptTokens.add(promptTokens);
    }

    record Embeddings(String model, List<String> inputs, boolean base64, int dims, int promptTokens) {
    }

    static final class EmbeddingsRoute implements InferencePipeline.Route<Embeddings> {
        private final SimContext ctx;

        EmbeddingsRoute(SimContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public Embeddings parse(Call call) {
            call.requireJsonContentType();
            JsonNode body = call.json();
            String model = ctx.resolveModel(body);
            JsonNode input = body.get("input");
            if (input == null || input.isNull()) {
                throw ApiError.missingField("input");
            }
            List<String> inputs = new ArrayList<>();
            if (input.isTextual()) {
                inputs.add(input.textValue());
            } else if (input.isArray() && !input.isEmpty() && input.get(0).isNumber()) {
                inputs.add(input.toString()); // one prompt given as token ids
            } else if (input.isArray() && !input.isEmpty()) {
                for (JsonNode item : input) {
                    inputs.add(item.isTextual() ? item.textValue() : item.toString());
                }
            } else {
                throw ApiError.badRequest("input must be a non-empty string, list of strings or token ids");
            }
            String format = body.path("encoding_format").asText("float");
            if (!format.equals("float") && !format.equals("base64")) {
                throw ApiError.badRequest("encoding_format must be 'float' or 'base64', got '" + format + "'");
            }
            JsonNode dimensions = body.get("dimensions");
            int dims = 8;
            if (dimensions != null && !dimensions.isNull()) {
                if (!dimensions.isIntegralNumber() || dimensions.intValue() < 1 || dimensions.intValue() > 65536) {
                    throw ApiError.badRequest("dimensions must be a positive integer");
                }
                dims = dimensions.intValue();
            }
            return new Embeddings(model, inputs, format.equals("base64"), dims, Tokens.estimate(input));
        }

        @Override
        public boolean streaming(Embeddings request) {
            return false;
        }

        @Override
        public void respond(Embeddings r, Call call) {
            prefill(ctx, r.promptTokens());
            ByteSink s = new ByteSink(256 + r.inputs().size() * r.dims() * 12);
            s.ascii("{\"id\":\"embd-").ascii(Call.randomHex()).ascii("\",\"object\":\"list\",\"created\":")
                    .append(Call.nowSeconds()).ascii(",\"model\":").jsonString(r.model()).ascii(",\"data\":[");
            for (int i = 0; i < r.inputs().size(); i++) {
                float[] v = vector(r.inputs().get(i), r.dims());
                s.ascii(i == 0 ? "" : ",").ascii("{\"index\":").append(i)
                        .ascii(",\"object\":\"embedding\",\"embedding\":");
                if (r.base64()) {
                    ByteBuffer bb = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                    for (float f : v) {
                        bb.putFloat(f);
                    }
                    s.ascii("\"").ascii(Base64.getEncoder().encodeToString(bb.array())).ascii("\"}");
                } else {
                    s.ascii("[");
                    for (int k = 0; k < v.length; k++) {
                        s.ascii(k == 0 ? "" : ",").ascii(Float.toString(v[k]));
                    }
                    s.ascii("]}");
                }
            }
            s.ascii("],\"usage\":{\"prompt_tokens\":").append(r.promptTokens())
                    .ascii(",\"total_tokens\":").append(r.promptTokens())
                    .ascii(",\"completion_tokens\":0,\"prompt_tokens_details\":null}}");
            call.sendJson(s.toByteArray());
        }

        /** A deterministic unit vector for {@code input}. */
        static float[] vector(String input, int dims) {
            SplittableRandom random = new SplittableRandom(fnv(input));
            float[] v = new float[dims];
            double norm = 0;
            for (int i = 0; i < dims; i++) {
                v[i] = (float) (random.nextDouble() * 2 - 1);
                norm += v[i] * v[i];
            }
            float scale = (float) (1 / Math.sqrt(Math.max(norm, 1e-12)));
            for (int i = 0; i < dims; i++) {
                v[i] *= scale;
            }
            return v;
        }
    }

    record Rerank(String model, String query, List<String> documents, int topN, int tokens) {
    }

    static final class RerankRoute implements InferencePipeline.Route<Rerank> {
        private final SimContext ctx;

        RerankRoute(SimContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public Rerank parse(Call call) {
            call.requireJsonContentType();
            JsonNode body = call.json();
            String model = ctx.resolveModel(body);
            JsonNode query = body.get("query");
            JsonNode docs = body.get("documents");
            if (query == null || !query.isTextual()) {
                throw ApiError.missingField("query");
            }
            if (docs == null || !docs.isArray()) {
                throw ApiError.missingField("documents");
            }
            List<String> documents = new ArrayList<>();
            for (JsonNode d : docs) {
                documents.add(d.isTextual() ? d.textValue() : d.path("text").asText(d.toString()));
            }
            int topN = body.path("top_n").asInt(0);
            int tokens = Tokens.estimate(query) * Math.max(1, documents.size()) + Tokens.estimate(docs);
            return new Rerank(model, query.textValue(), documents, topN, tokens);
        }

        @Override
        public boolean streaming(Rerank request) {
            return false;
        }

        @Override
        public void respond(Rerank r, Call call) {
            prefill(ctx, r.tokens());
            List<Integer> order = new ArrayList<>();
            double[] scores = new double[r.documents().size()];
            for (int i = 0; i < scores.length; i++) {
                long h = fnv(r.query() + '\u0000' + r.documents().get(i));
                scores[i] = ((h >>> 11) + 1) * 0x1.0p-53 * 0.998 + 0.001;
                order.add(i);
            }
            order.sort(Comparator.comparingDouble((Integer i) -> -scores[i]).thenComparingInt(i -> i));
            int limit = r.topN() > 0 ? Math.min(r.topN(), order.size()) : order.size();
            ByteSink s = new ByteSink(256 + limit * 96);
            s.ascii("{\"id\":\"rerank-").ascii(Call.randomHex()).ascii("\",\"model\":").jsonString(r.model())
                    .ascii(",\"usage\":{\"total_tokens\":").append(r.tokens()).ascii("},\"results\":[");
            for (int k = 0; k < limit; k++) {
                int i = order.get(k);
                s.ascii(k == 0 ? "" : ",").ascii("{\"index\":").append(i)
                        .ascii(",\"document\":{\"text\":").jsonString(r.documents().get(i))
                        .ascii("},\"relevance_score\":").ascii(Double.toString(scores[i])).ascii("}");
            }
            s.ascii("]}");
            call.sendJson(s.toByteArray());
        }
    }

    static final class TranscriptionRoute implements InferencePipeline.Route<Integer> {
        private final SimContext ctx;

        TranscriptionRoute(SimContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public Integer parse(Call call) {
            String ct = call.req.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
            if (!ct.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
                throw ApiError.badRequest("Unsupported Media Type: /v1/audio/transcriptions expects multipart/form-data");
            }
            return call.body.length;
        }

        @Override
        public boolean streaming(Integer request) {
            return false;
        }

        @Override
        public void respond(Integer bytes, Call call) {
            prefill(ctx, Tokens.fromChars(bytes));
            call.sendJson(new ByteSink(48).ascii("{\"text\":\"").append(bytes)
                    .ascii(" bytes received\"}").toByteArray());
        }
    }
}
