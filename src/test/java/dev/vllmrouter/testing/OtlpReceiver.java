package dev.vllmrouter.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

import com.sun.net.httpserver.HttpServer;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;

import static org.awaitility.Awaitility.await;

/**
 * An OTLP trace receiver on a loopback port, for tests, in one of the two transports the router exports with:
 * {@link #grpc()} is grpc-java's own server (HTTP/2 cleartext, prior knowledge, trailers: what a collector on 4317
 * speaks), {@link #http()} the JDK's HTTP server taking {@code POST /v1/traces} with protobuf bodies (4318). Either
 * decodes each export into the OTLP {@link ExportTraceServiceRequest} and keeps it with the request's headers.
 */
public abstract class OtlpReceiver implements AutoCloseable {
    /** One export as received: the request's path, headers (lower-case names) and decoded body. */
    public record Export(String path, Map<String, String> headers, ExportTraceServiceRequest request) {
    }

    private final List<Export> exports = new CopyOnWriteArrayList<>();

    public static OtlpReceiver grpc() {
        return new Grpc();
    }

    public static OtlpReceiver http() {
        return new Http();
    }

    /** {@code 127.0.0.1:<port>}. */
    public abstract String hostPort();

    /** {@code http://127.0.0.1:<port>}. */
    public String url() {
        return "http://" + hostPort();
    }

    public List<Export> exports() {
        return List.copyOf(exports);
    }

    /** All spans received so far, in arrival order. */
    public List<Span> spans() {
        List<Span> spans = new ArrayList<>();
        for (Export e : exports) {
            for (ResourceSpans rs : e.request().getResourceSpansList()) {
                for (ScopeSpans ss : rs.getScopeSpansList()) {
                    spans.addAll(ss.getSpansList());
                }
            }
        }
        return spans;
    }

    /** Waits (at most 20 s) until at least {@code n} spans arrived; returns all of them. */
    public List<Span> awaitSpans(int n) {
        await().atMost(Duration.ofSeconds(20)).until(() -> spans().size() >= n);
        return spans();
    }

    /** A string, int or bool attribute of a span or resource, as a string; {@code null} when absent. */
    public static String attribute(List<KeyValue> attributes, String key) {
        for (KeyValue kv : attributes) {
            if (kv.getKey().equals(key)) {
                AnyValue v = kv.getValue();
                return switch (v.getValueCase()) {
                    case STRING_VALUE -> v.getStringValue();
                    case INT_VALUE -> Long.toString(v.getIntValue());
                    case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
                    default -> v.toString();
                };
            }
        }
        return null;
    }

    /** Lower-case hex of an id (span, trace) as OTLP carries it, in bytes. */
    public static String hex(com.google.protobuf.ByteString id) {
        return java.util.HexFormat.of().formatHex(id.toByteArray());
    }

    /** Stops the server. */
    @Override
    public abstract void close();

    void received(String path, Map<String, String> headers, ExportTraceServiceRequest request) {
        exports.add(new Export(path, headers, request));
    }

    private static final class Grpc extends OtlpReceiver {
        private static final io.grpc.Context.Key<Map<String, String>> HEADERS = io.grpc.Context.key("headers");
        private static final io.grpc.Context.Key<String> METHOD = io.grpc.Context.key("method");
        private final Server server;

        Grpc() {
            ServerInterceptor capture = new ServerInterceptor() {
                @Override
                public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata metadata,
                                                                  ServerCallHandler<Q, R> next) {
                    Map<String, String> headers = new TreeMap<>();
                    for (String key : metadata.keys()) {
                        if (!key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
                            headers.put(key, metadata.get(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER)));
                        }
                    }
                    io.grpc.Context context = io.grpc.Context.current().withValue(HEADERS, headers)
                            .withValue(METHOD, "/" + call.getMethodDescriptor().getFullMethodName());
                    return Contexts.interceptCall(context, call, metadata, next);
                }
            };
            TraceServiceGrpc.TraceServiceImplBase service = new TraceServiceGrpc.TraceServiceImplBase() {
                @Override
                public void export(ExportTraceServiceRequest request,
                                   StreamObserver<ExportTraceServiceResponse> response) {
                    received(METHOD.get(), HEADERS.get(), request);
                    response.onNext(ExportTraceServiceResponse.getDefaultInstance());
                    response.onCompleted();
                }
            };
            try {
                server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                        .addService(ServerInterceptors.intercept(service, capture))
                        .build()
                        .start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public String hostPort() {
            return "127.0.0.1:" + server.getPort();
        }

        @Override
        public void close() {
            try {
                server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static final class Http extends OtlpReceiver {
        private final HttpServer server;

        Http() {
            try {
                server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            server.createContext("/", exchange -> {
                try (exchange) {
                    Map<String, String> headers = new TreeMap<>();
                    exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT),
                            String.join(",", v)));
                    InputStream body = exchange.getRequestBody();
                    if ("gzip".equals(headers.get("content-encoding"))) {
                        body = new GZIPInputStream(body);
                    }
                    received(exchange.getRequestURI().getPath(), headers, ExportTraceServiceRequest.parseFrom(body));
                    byte[] answer = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
                    exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
                    exchange.sendResponseHeaders(200, answer.length == 0 ? -1 : answer.length);
                    exchange.getResponseBody().write(answer);
                }
            });
            server.start();
        }

        @Override
        public String hostPort() {
            return "127.0.0.1:" + server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
