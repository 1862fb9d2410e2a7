package dev.vllmrouter.tracing;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The OTLP transports the router exports spans with, named as {@code OTEL_EXPORTER_OTLP_PROTOCOL} names them.
 * {@link #GRPC} is the default, as in vllm-router (whose exporter is tonic's gRPC client).
 */
public enum OtlpProtocol {
    /** OTLP/gRPC: HTTP/2, {@code TraceService/Export}; collectors listen on 4317. */
    GRPC("grpc", 4317),
    /** OTLP/HTTP with protobuf bodies: {@code POST /v1/traces}; collectors listen on 4318. */
    HTTP_PROTOBUF("http/protobuf", 4318);

    private final String id;
    private final int defaultPort;

    OtlpProtocol(String id, int defaultPort) {
        this.id = id;
        this.defaultPort = defaultPort;
    }

    /** The name in {@code OTEL_EXPORTER_OTLP_PROTOCOL}. */
    public String id() {
        return id;
    }

    int defaultPort() {
        return defaultPort;
    }

    /**
     * @throws IllegalArgumentException for anything but {@code grpc} or {@code http/protobuf} ({@code http/json} is
     *                                  not offered by the OTel Java exporters)
     */
    static OtlpProtocol of(String id, String source) {
        for (OtlpProtocol p : values()) {
            if (p.id.equals(id.strip())) {
                return p;
            }
        }
        throw new IllegalArgumentException(source + ": '" + id + "' is not one of "
                + Arrays.stream(values()).map(OtlpProtocol::id).collect(Collectors.joining(", ")));
    }
}
