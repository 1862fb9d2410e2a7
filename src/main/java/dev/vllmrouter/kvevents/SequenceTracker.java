package dev.vllmrouter.kvevents;

/**
 * The sequence numbers of one publisher, as a small state machine. vLLM numbers its batches 0, 1, 2, ... per publisher
 * process; a batch missing from the PUB/SUB stream shows as a jump, an engine restart as a number that goes back.
 * <ul>
 *   <li>{@link Verdict#FIRST}: nothing applied since the subscription (or the last {@link #restart()});</li>
 *   <li>{@link Verdict#NEXT}: the expected number;</li>
 *   <li>{@link Verdict#GAP}: a larger one (batches were lost);</li>
 *   <li>{@link Verdict#DUPLICATE}: a smaller one that a replay already delivered (the live copies that were queued
 *       while the replay ran), only until the live stream reaches the expected number again;</li>
 *   <li>{@link Verdict#REGRESSION}: any other smaller one (a new publisher: the engine restarted).</li>
 * </ul>
 * Not thread-safe: owned by the subscriber thread.
 */
final class SequenceTracker {
    enum Verdict { FIRST, NEXT, GAP, DUPLICATE, REGRESSION }

    private long expected = -1;
    private long duplicatesFrom = -1;

    Verdict observe(long seq) {
        if (expected < 0) {
            return Verdict.FIRST;
        }
        if (seq == expected) {
            duplicatesFrom = -1;
            return Verdict.NEXT;
        }
        if (seq > expected) {
            return Verdict.GAP;
        }
        return duplicatesFrom >= 0 && seq >= duplicatesFrom ? Verdict.DUPLICATE : Verdict.REGRESSION;
    }

    /** Batch {@code seq} was applied: the next one is expected. */
    void applied(long seq) {
        expected = seq + 1;
    }

    /** A replay from {@code from} was applied: live batches from there up to the expected one are copies. */
    void replayed(long from) {
        duplicatesFrom = from;
    }

    /** Forgets the stream (a new publisher): the next batch is {@link Verdict#FIRST}. */
    void restart() {
        expected = -1;
        duplicatesFrom = -1;
    }

    /** The next number expected, or -1 before the first. */
    long expected() {
        return expected;
    }
}
