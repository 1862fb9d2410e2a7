package dev.vllmrouter.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.RequestException;
import io.helidon.http.WritableHeaders;
import org.junit.jupiter.api.Test;

class RequestFramingTest {
    private static WritableHeaders<?> headers(String... nameValue) {
        WritableHeaders<?> h = WritableHeaders.create();
        for (int i = 0; i < nameValue.length; i += 2) {
            h.add(HeaderValues.create(HeaderNames.create(nameValue[i]), nameValue[i + 1]));
        }
        return h;
    }

    private static int refusal(WritableHeaders<?> h) {
        try {
            RequestFraming.check(h);
            return 0;
        } catch (RequestException e) {
            assertThat(e.keepAlive()).as("a refused framing closes the connection").isFalse();
            assertThat(e.safeMessage()).isTrue();
            return e.status().code();
        }
    }

    @Test
    void chunkedInAnyCaseBecomesTheFormHelidonReads() {
        WritableHeaders<?> h = headers("Transfer-Encoding", "Chunked");
        RequestFraming.check(h);
        assertThat(h.contains(HeaderValues.TRANSFER_ENCODING_CHUNKED)).isTrue();
        h = headers("Transfer-Encoding", " CHUNKED ");
        RequestFraming.check(h);
        assertThat(h.contains(HeaderValues.TRANSFER_ENCODING_CHUNKED)).isTrue();
    }

    @Test
    void otherCodingsAre501WhenChunkedIsLastElse400() {
        assertThat(refusal(headers("Transfer-Encoding", "gzip, chunked"))).isEqualTo(501);
        assertThat(refusal(headers("Transfer-Encoding", "gzip", "Transfer-Encoding", "chunked"))).isEqualTo(501);
        assertThat(refusal(headers("Transfer-Encoding", "chunked, gzip"))).isEqualTo(400);
        assertThat(refusal(headers("Transfer-Encoding", "chunked, chunked"))).isEqualTo(400);
        assertThat(refusal(headers("Transfer-Encoding", "identity"))).isEqualTo(400);
        assertThat(refusal(headers("Transfer-Encoding", ","))).isEqualTo(400);
    }

    @Test
    void contentLengthWithTransferEncodingIs400() {
        assertThat(refusal(headers("Content-Length", "5", "Transfer-Encoding", "chunked"))).isEqualTo(400);
        assertThat(refusal(headers("Transfer-Encoding", "Chunked", "Content-Length", "5"))).isEqualTo(400);
    }

    @Test
    void contentLengthMustBeDigitsAndOneValue() {
        assertThat(refusal(headers("Content-Length", "12"))).isZero();
        assertThat(refusal(headers("Content-Length", "+12"))).isEqualTo(400);
        assertThat(refusal(headers("Content-Length", "-1"))).isEqualTo(400);
        assertThat(refusal(headers("Content-Length", "1 2"))).isEqualTo(400);
        assertThat(refusal(headers("Content-Length", ""))).isEqualTo(400);
        assertThat(refusal(headers("Content-Length", "99999999999999999999"))).isEqualTo(400);
        assertThat(refusal(headers("Content-Length", "5", "Content-Length", "7"))).isEqualTo(400);
        assertThat(refusal(headers("Content-Length", "5, 7"))).isEqualTo(400);
    }

    @Test
    void aRepeatedEqualContentLengthBecomesOne() {
        WritableHeaders<?> h = headers("Content-Length", "5, 5", "Content-Length", "05");
        RequestFraming.check(h);
        assertThat(h.get(HeaderNames.CONTENT_LENGTH).allValues()).containsExactly("05");
        assertThat(h.contentLength()).hasValue(5);
    }

    @Test
    void aCloseOptionInAnyFormBecomesConnectionClose() {
        for (String v : new String[] {"Close", "keep-alive, close", "TE,CLOSE"}) {
            WritableHeaders<?> h = headers("Connection", v);
            RequestFraming.check(h);
            assertThat(h.contains(HeaderValues.CONNECTION_CLOSE)).as(v).isTrue();
        }
        WritableHeaders<?> h = headers("Connection", "keep-alive", "Connection", "close");
        RequestFraming.check(h);
        assertThat(h.contains(HeaderValues.CONNECTION_CLOSE)).isTrue();
        h = headers("Connection", "keep-alive");
        RequestFraming.check(h);
        assertThat(h.contains(HeaderValues.CONNECTION_KEEP_ALIVE)).isTrue();
        h = headers("Connection", "closed");
        RequestFraming.check(h);
        assertThat(h.contains(HeaderValues.CONNECTION_CLOSE)).isFalse();
    }

    @Test
    void noBodyHeadersIsNoChange() {
        WritableHeaders<?> h = headers("Host", "r");
        RequestFraming.check(h);
        assertThat(h.size()).isEqualTo(1);
        assertThatThrownBy(() -> RequestFraming.check(headers("Content-Length", "x")))
                .isInstanceOf(RequestException.class).hasMessageContaining("not a number");
    }
}
