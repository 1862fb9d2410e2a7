package dev.vllmrouter.worker;

/** What a worker does in the fleet: a whole model server, or one stage of prefill/decode disaggregation. */
public enum Role {
    REGULAR, PREFILL, DECODE;

    /** The lower-case name used in the admin API ({@code worker_type}). */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
