package dev.vllmrouter.pd;

import dev.vllmrouter.common.RandomSource;
import dev.vllmrouter.worker.Worker;

/**
 * The id both legs of one disaggregated request carry as {@code X-Request-Id}:
 * {@code ___prefill_addr_<P>___decode_addr_<D>_<32 hex>}, where P and D are the workers' P2P-NCCL (ZeroMQ)
 * addresses when they registered one, else their {@code host:port}. vLLM's P2pNcclConnector parses the peer
 * address out of it (regexes {@code ___decode_addr_(.*):(\d+)} and {@code ___prefill_addr_(.*):(\d+)___}), and so does
 * the MoRIIOConnector, whose registered address is {@code host:IP,handshake:PORT,notify:PORT}; NIXL and Mooncake only
 * need both legs to carry the same id.
 */
public final class PdRequestId {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private PdRequestId() {
    }

    public static String of(Worker prefill, Worker decode, RandomSource random) {
        return "___prefill_addr_" + address(prefill) + "___decode_addr_" + address(decode) + "_" + hex32(random);
    }

    /** A transfer id for Mooncake: {@code xfer-<32 hex>}. */
    public static String transferId(RandomSource random) {
        return "xfer-" + hex32(random);
    }

    /** A transfer id for MoRI-IO: {@code tx-<32 hex>}. */
    public static String moriioTransferId(RandomSource random) {
        return "tx-" + hex32(random);
    }

    static String address(Worker w) {
        return w.zmqAddress() != null ? w.zmqAddress() : w.hostPort();
    }

    static String hex32(RandomSource random) {
        char[] c = new char[32];
        for (int i = 0; i < 32; i++) {
            c[i] = HEX[random.nextInt(16)];
        }
        return new String(c);
    }
}
