package dev.vllmrouter.upstream;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * The three ways an HTTP/1.1 response body is delimited (RFC 9112 §6): Content-Length, chunked, or the end of the
 * connection. Each stream returns bytes as soon as they arrive (never waits to fill the caller's buffer — that is
 * what keeps SSE tokens flowing), reports a worker that vanished mid-body as an {@link IOException}, and calls
 * {@code onComplete} exactly when the body has been read to its proper end, so the connection can be reused.
 * <p>{@link InputStream#available()} is exact in one direction: when it says {@code n > 0}, a read of up to
 * {@code n} bytes returns body bytes from the connection's buffer without touching the socket, so a caller can take
 * what already arrived (several SSE events, say) before it writes, without ever waiting for more.
 */
final class BodyStreams {
    private BodyStreams() {
    }

    static InputStream empty(Runnable onComplete) {
        onComplete.run();
        return InputStream.nullInputStream();
    }

    static InputStream fixed(Connection c, long length, Runnable onComplete) {
        if (length == 0) {
            return empty(onComplete);
        }
        return new Base(onComplete) {
            private long remaining = length;

            @Override
            public int available() {
                return (int) Math.min(remaining, c.buffered());
            }

            @Override
            int readBody(byte[] b, int off, int len) throws IOException {
                if (remaining == 0) {
                    return -1;
                }
                int n = c.read(b, off, (int) Math.min(len, remaining));
                if (n < 0) {
                    throw new EOFException("worker closed the connection with " + remaining + " body bytes missing");
                }
                remaining -= n;
                if (remaining == 0) {
                    complete();
                }
                return n;
            }
        };
    }

    static InputStream untilClose(Connection c) {
        return new Base(() -> { }) {
            @Override
            public int available() {
                return c.buffered();
            }

            @Override
            int readBody(byte[] b, int off, int len) throws IOException {
                return c.read(b, off, len);
            }
        };
    }

    static InputStream chunked(Connection c, Runnable onComplete) {
        return new Base(onComplete) {
            private long chunkLeft = -1; // -1: a chunk-size line comes next
            private boolean done;

            /** Data bytes readable from the buffer alone: in the current chunk, or in a next one fully framed. */
            @Override
            public int available() {
                int buffered = c.buffered();
                if (done || buffered == 0) {
                    return 0;
                }
                if (chunkLeft > 0) {
                    return (int) Math.min(chunkLeft, buffered);
                }
                int i = 0;
                if (chunkLeft == 0) { // the CRLF after the last chunk's data
                    if (buffered < 2 || c.peek(0) != '\r' || c.peek(1) != '\n') {
                        return 0;
                    }
                    i = 2;
                }
                long size = 0;
                int digits = 0;
                for (; i < buffered; i++) {
                    int d = Character.digit(c.peek(i), 16);
                    if (d < 0 || digits == 15) {
                        break;
                    }
                    size = size * 16 + d;
                    digits++;
                }
                // only a plain "<hex>\r\n" line followed by data counts; anything else is left to readBody
                if (digits == 0 || size == 0 || i + 2 >= buffered || c.peek(i) != '\r' || c.peek(i + 1) != '\n') {
                    return 0;
                }
                return (int) Math.min(size, buffered - i - 2);
            }

            @Override
            int readBody(byte[] b, int off, int len) throws IOException {
                if (done) {
                    return -1;
                }
                if (chunkLeft <= 0) {
                    if (chunkLeft == 0) {
                        c.expectCrlf();
                    }
                    chunkLeft = parseSize(c.readLine(1024));
                    if (chunkLeft == 0) {
                        // trailers (ignored) up to the empty line, no more of them than of a head
                        int trailerBytes = 0;
                        for (String t = c.readLine(8192); !t.isEmpty(); t = c.readLine(8192)) {
                            trailerBytes += t.length() + 2;
                            if (trailerBytes > ResponseHead.MAX_HEAD_BYTES) {
                                throw new IOException("chunked body's trailer section exceeds "
                                        + ResponseHead.MAX_HEAD_BYTES + " bytes");
                            }
                        }
                        done = true;
                        complete();
                        return -1;
                    }
                }
                int n = c.read(b, off, (int) Math.min(len, chunkLeft));
                if (n < 0) {
                    throw new EOFException("worker closed the connection in the middle of a chunk");
                }
                chunkLeft -= n;
                return n;
            }
        };
    }

    private static long parseSize(String line) throws IOException {
        int end = line.indexOf(';');
        String hex = end < 0 ? line : line.substring(0, end);
        int last = hex.length();
        while (last > 0 && (hex.charAt(last - 1) == ' ' || hex.charAt(last - 1) == '\t')) {
            last--; // whitespace may come before a chunk extension (RFC 9112 §7.1.1), never before the size
        }
        hex = hex.substring(0, last);
        if (hex.isEmpty() || hex.length() > 15 || !hex.chars().allMatch(ch -> Character.digit(ch, 16) >= 0)) {
            throw new IOException("malformed chunk size: '" + ResponseHead.abbreviate(line) + "'");
        }
        try {
            return Long.parseLong(hex, 16);
        } catch (NumberFormatException e) {
            throw new IOException("malformed chunk size: '" + ResponseHead.abbreviate(line) + "'");
        }
    }

    /** Common plumbing: single-byte reads, completion exactly once. */
    private abstract static class Base extends InputStream {
        private final Runnable onComplete;
        private boolean completed;

        Base(Runnable onComplete) {
            this.onComplete = onComplete;
        }

        abstract int readBody(byte[] b, int off, int len) throws IOException;

        final void complete() {
            if (!completed) {
                completed = true;
                onComplete.run();
            }
        }

        @Override
        public final int read(byte[] b, int off, int len) throws IOException {
            return readBody(b, off, len);
        }

        @Override
        public final int read() throws IOException {
            byte[] one = new byte[1];
            int n = readBody(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }
    }
}
