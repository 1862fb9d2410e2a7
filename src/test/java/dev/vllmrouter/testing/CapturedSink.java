package dev.vllmrouter.testing;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

import io.helidon.http.Method;
import io.helidon.http.WritableHeaders;

import dev.vllmrouter.openai.RequestFacts;
import dev.vllmrouter.proxy.ClientSink;
import dev.vllmrouter.proxy.ProxyRequest;
import dev.vllmrouter.proxy.RequestId;

/** A client side that keeps what the proxy sends it, for tests that drive a forwarder without a web server. */
public final class CapturedSink implements ClientSink {
    public int status;
    public final ByteArrayOutputStream body = new ByteArrayOutputStream();
    public boolean committed;

    /** A checked JSON POST to {@code /v1/chat/completions} with request id {@code test-1}. */
    public static ProxyRequest chat(String json) {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        return new ProxyRequest(Method.POST, "/v1/chat/completions", "", WritableHeaders.create(), body,
                RequestFacts.parse(body), RequestId.of("test-1"), "/v1/chat/completions", true);
    }

    @Override
    public void status(int status) {
        this.status = status;
    }

    @Override
    public void header(String name, String value) {
    }

    @Override
    public void send(byte[] bytes) {
        committed = true;
        body.writeBytes(bytes);
    }

    @Override
    public OutputStream stream() {
        committed = true;
        return body;
    }

    @Override
    public boolean committed() {
        return committed;
    }
}
