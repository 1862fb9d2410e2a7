package dev.vllmrouter.upstream;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * The three ways an HTTP/1.1 response body is delimited (RFC 9112 §6): Content-Length, chunked, or the end of the
 * connection. Each stream returns bytes as soon as they arrive (never waits to fill the caller's buffer — that is
 * what keeps SSE tokens flowing), reports a worker that vanished mid-body as an {@link IOException}, and calls
 * {@code onComplete} exactly when the body has been read to its proper end, so the connection can be reused.
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
            int readBody(byte[] b, int off, int len) throws IOException {
                return c.read(b, off, len);
            }
        };
    }

    static InputStream chunked(Connection c, Runnable onComplete) {
        return new Base(onComplete) {
            private long chunkLeft = -1; // -1: a chunk-size line comes next
            private boolean done;

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
                        // trailers (ignored) up to the empty line
                        while (!c.readLine(8192).isEmpty()) {
                            // skip
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
        String hex = (end < 0 ? line : line.substring(0, end)).trim();
        if (hex.isEmpty() || hex.length() > 15) {
            throw new IOException("malformed chunk size: '" + line + "'");
        }
        try {
            return Long.parseLong(hex, 16);
        } catch (NumberFormatException e) {
            throw new IOException("malformed chunk size: '" + line + "'");
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
