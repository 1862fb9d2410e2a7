package dev.vllmrouter.proxy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SseRelayTest {
    /** Returns the given pieces one read at a time, each arriving on its own, then EOF or a failure. */
    private static InputStream pieces(boolean failAtEnd, String... parts) {
        return bursts(failAtEnd, java.util.Arrays.stream(parts).map(List::of).toList());
    }

    /**
     * Returns one piece per read, like a chunked body: pieces of one burst have all arrived (available() counts the
     * next one), a new burst has not (available() is 0 until it is read). Then EOF or a failure.
     */
    private static InputStream bursts(boolean failAtEnd, List<List<String>> bursts) {
        List<byte[]> list = new ArrayList<>();
        List<Boolean> sameBurstAsPrevious = new ArrayList<>();
        for (List<String> burst : bursts) {
            for (int i = 0; i < burst.size(); i++) {
                list.add(burst.get(i).getBytes(StandardCharsets.UTF_8));
                sameBurstAsPrevious.add(i > 0);
            }
        }
        return new InputStream() {
            int i;

            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int available() {
                return i < list.size() && sameBurstAsPrevious.get(i) ? list.get(i).length : 0;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (i == list.size()) {
                    if (failAtEnd) {
                        throw new IOException("worker died");
                    }
                    return -1;
                }
                byte[] p = list.get(i++);
                System.arraycopy(p, 0, b, off, p.length);
                return p.length;
            }
        };
    }

    @Test
    void eventsThatArrivedTogetherAreFlushedTogetherAndNoneWaits() {
        Flushes out = new Flushes();
        new SseRelay().relay(bursts(false, List.of(
                List.of("data: 1\n\n", "data: 2\n\n", "data: 3\n"), // three events already here, the third partial
                List.of("\n"),                                         // its end comes later
                List.of("data: 4\n\n"))), out);
        assertThat(out.flushed).containsExactly("data: 1\n\ndata: 2\n\n", "data: 3\n\n", "data: 4\n\n");
    }

    /** Records what was flushed, write by write. */
    private static final class Flushes extends OutputStream {
        final ByteArrayOutputStream pending = new ByteArrayOutputStream();
        final List<String> flushed = new ArrayList<>();

        @Override
        public void write(int b) {
            pending.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            pending.write(b, off, len);
        }

        @Override
        public void flush() {
            flushed.add(pending.toString(StandardCharsets.UTF_8));
            pending.reset();
        }
    }

    @Test
    void flushesWholeEventsAsTheyComplete() {
        Flushes out = new Flushes();
        SseRelay relay = new SseRelay();
        SseRelay.Outcome o = relay.relay(pieces(false, "data: {\"a\":1}\n\nda", "ta: {\"b\"", ":2}\n", "\n", "data: [DONE]\n\n"),
                out);
        assertThat(o).isEqualTo(SseRelay.Outcome.COMPLETED);
        assertThat(out.flushed).containsExactly("data: {\"a\":1}\n\n", "data: {\"b\":2}\n\n", "data: [DONE]\n\n");
        assertThat(relay.events()).isEqualTo(3);
    }

    @Test
    void crlfTerminatorsAreRecognisedAcrossReads() {
        Flushes out = new Flushes();
        new SseRelay().relay(pieces(false, "data: x\r\n\r", "\n", "data: y\r\n\r\n"), out);
        assertThat(out.flushed).containsExactly("data: x\r\n\r\n", "data: y\r\n\r\n");
    }

    @Test
    void severalEventsInOneReadGoOutInOneFlush() {
        Flushes out = new Flushes();
        new SseRelay().relay(pieces(false, "data: 1\n\ndata: 2\n\ndata: 3"), out);
        assertThat(out.flushed).containsExactly("data: 1\n\ndata: 2\n\n", "data: 3");
    }

    @Test
    void workerFailureDropsThePartialEvent() {
        Flushes out = new Flushes();
        SseRelay relay = new SseRelay();
        SseRelay.Outcome o = relay.relay(pieces(true, "data: 1\n\ndata: {\"half"), out);
        assertThat(o).isEqualTo(SseRelay.Outcome.WORKER_FAILED);
        assertThat(out.flushed).containsExactly("data: 1\n\n");
        assertThat(relay.held()).isPositive();
        assertThat(relay.failure()).hasMessage("worker died");
    }

    @Test
    void clientGoneStopsReading() {
        int[] reads = {0};
        InputStream endless = new InputStream() {
            @Override
            public int read() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                reads[0]++;
                byte[] e = "data: t\n\n".getBytes(StandardCharsets.UTF_8);
                System.arraycopy(e, 0, b, off, e.length);
                return e.length;
            }
        };
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) {
                throw new UncheckedIOException(new IOException("Broken pipe"));
            }

            @Override
            public void write(byte[] b, int off, int len) {
                throw new UncheckedIOException(new IOException("Broken pipe"));
            }
        };
        assertThat(new SseRelay().relay(endless, broken)).isEqualTo(SseRelay.Outcome.CLIENT_GONE);
        assertThat(reads[0]).isEqualTo(1);
    }

    @Test
    void bytesPassUnchanged() {
        String body = "event: x\nid: 7\ndata: {\"é\":\"\\u00e9 ✓\"}\n\n: comment\n\ndata: [DONE]\n\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new SseRelay().relay(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)), out);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(body);
    }
}
