package dev.vllmrouter.tracing;

import io.opentelemetry.api.metrics.MeterProvider;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporterBuilder;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporterBuilder;
import io.opentelemetry.sdk.trace.export.SpanExporter;

/**
 * Builds the SDK's OTLP span exporter for a protocol: {@link OtlpGrpcSpanExporter} (HTTP/2; cleartext with prior
 * knowledge on {@code http://}) or {@link OtlpHttpSpanExporter} (protobuf bodies). Both send through OkHttp
 * ({@code opentelemetry-exporter-sender-okhttp}, the only sender on the class path): the SDK's JDK HttpClient sender
 * offers HTTP only, and the JDK client can neither speak HTTP/2 without an upgrade nor read gRPC's trailers. The SDK
 * retries a failed export with backoff (its default policy) and logs failures, throttled.
 */
final class OtlpExporters {
    private OtlpExporters() {
    }

    /** @throws IllegalArgumentException when the SDK refuses a setting */
    static SpanExporter create(TracingConfig.Export export) {
        return switch (export.protocol()) {
            case GRPC -> {
                OtlpGrpcSpanExporterBuilder b = OtlpGrpcSpanExporter.builder()
                        .setEndpoint(export.endpoint().toString())
                        .setTimeout(export.timeout())
                        .setCompression(export.compression())
                        .setMeterProvider(MeterProvider::noop);
                export.headers().forEach(b::addHeader);
                yield b.build();
            }
            case HTTP_PROTOBUF -> {
                OtlpHttpSpanExporterBuilder b = OtlpHttpSpanExporter.builder()
                        .setEndpoint(export.endpoint().toString())
                        .setTimeout(export.timeout())
                        .setCompression(export.compression())
                        .setMeterProvider(MeterProvider::noop);
                export.headers().forEach(b::addHeader);
                yield b.build();
            }
        };
    }
}
