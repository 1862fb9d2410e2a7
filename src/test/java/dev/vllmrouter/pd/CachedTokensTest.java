package dev.vllmrouter.pd;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.proxy.SseRelay;

import static org.assertj.core.api.Assertions.assertThat;

/** The prefill's prefix-cache hit in the decode answer: golden JSON and stream bytes. */
class CachedTokensTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode json(String s) throws Exception {
        return (ObjectNode) JSON.readTree(s.replace('\'', '"'));
    }

    @Test
    void thePrefillsValueIsANonNegativeInteger() throws Exception {
        assertThat(CachedTokens.prefillCached(json("{'usage':{'prompt_tokens_details':{'cached_tokens':0}}}")))
                .as("zero is a value").isEqualTo(0L);
        assertThat(CachedTokens.prefillCached(json("{'usage':{'prompt_tokens_details':{'cached_tokens':32}}}")))
                .isEqualTo(32L);
        for (String none : new String[] {"{}", "{'usage':null}", "{'usage':{'prompt_tokens_details':null}}",
                "{'usage':{'prompt_tokens_details':{'cached_tokens':-1}}}",
                "{'usage':{'prompt_tokens_details':{'cached_tokens':'3'}}}",
                "{'usage':{'prompt_tokens_details':{'cached_tokens':1.5}}}"}) {
            assertThat(CachedTokens.prefillCached(json(none))).as(none).isNull();
        }
        assertThat(CachedTokens.appliesTo("/v1/chat/completions")).isTrue();
        assertThat(CachedTokens.appliesTo("/v1/completions")).isTrue();
        assertThat(CachedTokens.appliesTo("/v1/responses")).isFalse();
    }

    @Test
    void reconcileChangesOnlyCachedTokens() throws Exception {
        ObjectNode r = json("{'usage':{'prompt_tokens':100,'total_tokens':120,'completion_tokens':20,"
                + "'prompt_tokens_details':{'cached_tokens':100,'audio_tokens':2},'future':7},'x':1}");
        assertThat(CachedTokens.reconcile(r, 64L)).isTrue();
        assertThat(r).isEqualTo(json("{'usage':{'prompt_tokens':100,'total_tokens':120,'completion_tokens':20,"
                + "'prompt_tokens_details':{'cached_tokens':64,'audio_tokens':2},'future':7},'x':1}"));
        assertThat(CachedTokens.reconcile(r, 64L)).as("already so").isFalse();
        assertThat(CachedTokens.reconcile(r, null)).as("no prefill value removes the decode's").isTrue();
        assertThat(r.get("usage").get("prompt_tokens_details")).isEqualTo(json("{'audio_tokens':2}"));

        ObjectNode nullDetails = json("{'usage':{'prompt_tokens':4,'prompt_tokens_details':null}}");
        assertThat(CachedTokens.reconcile(nullDetails, 0L)).isTrue();
        assertThat(nullDetails).isEqualTo(json("{'usage':{'prompt_tokens':4,'prompt_tokens_details':"
                + "{'cached_tokens':0}}}"));
        ObjectNode absent = json("{'usage':{'prompt_tokens':4}}");
        assertThat(CachedTokens.reconcile(absent, null)).isFalse();
        assertThat(CachedTokens.reconcile(json("{'usage':null}"), 5L)).as("no usage object").isFalse();
        assertThat(CachedTokens.reconcile(json("{}"), 5L)).isFalse();
        assertThat(CachedTokens.reconcile(json("{'usage':{'prompt_tokens_details':3}}"), 5L)).isFalse();
    }

    @Test
    void aPlainBodyIsRewrittenOnlyWhenItChanges() {
        byte[] body = "{\"id\":\"x\",\"usage\":{\"prompt_tokens\":9,\"prompt_tokens_details\":null}}"
                .getBytes(StandardCharsets.UTF_8);
        assertThat(new String(CachedTokens.rewriteBody(body, 8L), StandardCharsets.UTF_8)).isEqualTo(
                "{\"id\":\"x\",\"usage\":{\"prompt_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":8}}}");
        assertThat(CachedTokens.rewriteBody(body, null)).isSameAs(body);
        byte[] notJson = "oops".getBytes(StandardCharsets.UTF_8);
        assertThat(CachedTokens.rewriteBody(notJson, 8L)).isSameAs(notJson);
    }

    @Test
    void aFragmentedStreamChangesOnlyTheUsageEventsAndKeepsEveryOtherByte() {
        String tokens = "data: {\"choices\":[{\"delta\":{\"content\":\"usage\"}}]}\n\n";
        String continuous = ": keep\r\nevent: message\r\ndata: {\"choices\":[{\"delta\":{}}],\"usage\":"
                + "{\"prompt_tokens_details\":{\"cached_tokens\":99}}}\r\n\r\n";
        String last = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"prompt_tokens_details\":"
                + "{\"cached_tokens\":100,\"audio_tokens\":2}},\"metrics\":{\"x\":1.50}}\n\n";
        String done = "data: [DONE]\n\n";
        String out = relay(tokens + continuous + last + done, 64L);
        assertThat(out).isEqualTo(tokens
                + ": keep\r\nevent: message\r\ndata: {\"choices\":[{\"delta\":{}}],\"usage\":"
                + "{\"prompt_tokens_details\":{}}}\r\n\r\n"
                + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"prompt_tokens_details\":"
                + "{\"cached_tokens\":64,\"audio_tokens\":2}},\"metrics\":{\"x\":1.50}}\n\n"
                + done);
        String plain = tokens + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3}}\n\n" + done;
        assertThat(relay(plain, null)).as("nothing to change: byte for byte").isEqualTo(plain);
        assertThat(relay("data: {\"choices\":[],\"usage\":{\"prompt_tokens_details\":{\"cached_tokens\":30,"
                + "\"audio_tokens\":1}}}\n\n", null)).doesNotContain("cached_tokens").contains("audio_tokens");
    }

    /** Through a real {@link SseRelay}, the worker's bytes arriving 7 at a time. */
    private static String relay(String stream, Long cached) {
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
        InputStream in = new InputStream() {
            private int pos;

            @Override
            public int read() {
                return pos < bytes.length ? bytes[pos++] & 0xff : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (pos >= bytes.length) {
                    return -1;
                }
                int n = Math.min(Math.min(len, 7), bytes.length - pos);
                System.arraycopy(bytes, pos, b, off, n);
                pos += n;
                return n;
            }
        };
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(new SseRelay(event -> CachedTokens.rewriteEvent(event, cached)).relay(in, out))
                .isEqualTo(SseRelay.Outcome.COMPLETED);
        return out.toString(StandardCharsets.UTF_8);
    }
}
