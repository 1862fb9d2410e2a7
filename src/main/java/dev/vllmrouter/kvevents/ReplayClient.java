package dev.vllmrouter.kvevents;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;
import org.zeromq.ZMsg;

/**
 * vLLM's replay protocol, client side: a DEALER connects to the engine's ROUTER ({@code replay_endpoint}), sends
 * {@code ["", start_seq (8 bytes, big-endian)]}, and receives {@code ["", seq, payload]} for every batch the engine
 * still buffers from {@code start_seq} on, then the end marker {@code ["", -1 (8 bytes), ""]}. The engine keeps only
 * its last {@code buffer_steps} batches and has no snapshot, so a replay can start later than asked.
 * <p>Blocking, bounded by {@code timeout} overall; one socket per replay, closed before returning.
 */
final class ReplayClient {
    private static final long END = -1;

    /** One replayed batch. */
    record Replayed(long seq, byte[] payload) {
    }

    private ReplayClient() {
    }

    /** The batches from {@code fromSeq} on, in order; {@code null} when no complete answer came within {@code timeout}. */
    static List<Replayed> fetch(ZContext context, String endpoint, long fromSeq, Duration timeout) {
        ZMQ.Socket dealer = context.createSocket(SocketType.DEALER);
        try {
            dealer.setLinger(0);
            // jeromq now and then stalls a handshake: a short limit reconnects (and resends the queued request)
            // well within the timeout, as the other ZeroMQ sockets of the router do
            dealer.setHandshakeIvl((int) Math.max(50, Math.min(500, timeout.toMillis() / 4)));
            dealer.connect(endpoint);
            ZMsg request = new ZMsg();
            request.add(new byte[0]);
            request.add(ByteBuffer.allocate(8).putLong(fromSeq).array());
            request.send(dealer);
            long deadline = System.nanoTime() + timeout.toNanos();
            List<Replayed> out = new ArrayList<>();
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    return null;
                }
                dealer.setReceiveTimeOut((int) Math.max(1, left));
                ZMsg reply = ZMsg.recvMsg(dealer);
                if (reply == null) {
                    return null;
                }
                if (reply.size() == 3) {
                    reply.pop(); // the empty delimiter
                }
                if (reply.size() != 2 || reply.peekFirst().size() != 8) {
                    reply.destroy();
                    return null;
                }
                long seq = ByteBuffer.wrap(reply.pop().getData()).getLong();
                byte[] payload = reply.pop().getData();
                if (seq == END) {
                    return out;
                }
                out.add(new Replayed(seq, payload));
            }
        } finally {
            dealer.close();
        }
    }
}
