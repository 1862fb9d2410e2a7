package dev.vllmrouter.server;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

import dev.vllmrouter.common.Ticker;

/**
 * A request body as the router reads it: before each read the connection's read timeout is set from the body's
 * {@link BodyPace} (the pause limit, or the time left before the body's deadline, whichever is shorter), and a body
 * past its deadline stops with {@link TooSlow}. A read that times out fails as Helidon reports it (a socket timeout).
 */
final class PacedBody extends FilterInputStream {
    /** The body did not keep up {@code --client-body-min-rate}. */
    static final class TooSlow extends IOException {
        TooSlow() {
            super("the request body arrived too slowly", null);
        }
    }

    private final ClientConnections.ReadBound bound;
    private final BodyPace pace;
    private final Ticker ticker;
    private long received;
    private long lastMillis = -1;

    PacedBody(InputStream in, ClientConnections.ReadBound bound, BodyPace pace, Ticker ticker) {
        super(in);
        this.bound = bound;
        this.pace = pace;
        this.ticker = ticker;
    }

    private void beforeRead() throws IOException {
        long millis = pace.nextReadMillis(ticker.nanos(), received);
        if (millis == 0) {
            throw new TooSlow();
        }
        if (millis != lastMillis) { // most reads of a fast body keep the pause limit: no call then
            bound.timeout(millis);
            lastMillis = millis;
        }
    }

    @Override
    public int read() throws IOException {
        beforeRead();
        int b;
        try {
            b = super.read();
        } catch (IOException e) {
            throw cutByRate(e) ? new TooSlow() : e;
        } catch (RuntimeException e) {
            if (cutByRate(e)) {
                throw new TooSlow();
            }
            throw e;
        }
        if (b >= 0) {
            received++;
        }
        return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        beforeRead();
        int n;
        try {
            n = super.read(buf, off, len);
        } catch (IOException e) {
            throw cutByRate(e) ? new TooSlow() : e;
        } catch (RuntimeException e) {
            if (cutByRate(e)) {
                throw new TooSlow();
            }
            throw e;
        }
        if (n > 0) {
            received += n;
        }
        return n;
    }

    /** A read that timed out while bounded by the body's deadline (not the pause limit) is {@link TooSlow}. */
    private boolean cutByRate(Exception e) {
        return timedOut(e) && lastMillis < pace.pauseMillis();
    }

    /** Whether a read failed because the connection's read timeout passed (however Helidon wrapped it). */
    static boolean timedOut(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof java.net.SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }
}
