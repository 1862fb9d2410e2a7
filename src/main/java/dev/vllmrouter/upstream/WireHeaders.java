package dev.vllmrouter.upstream;

import java.util.Arrays;

/**
 * The header fields of a worker's response, in the order received, names as sent. Lookups are case-insensitive
 * linear scans: a vLLM response has a handful of headers, so this beats hashing and allocates two arrays.
 */
public final class WireHeaders {
    private String[] names = new String[12];
    private String[] values = new String[12];
    private int size;

    void add(String name, String value) {
        if (size == names.length) {
            names = Arrays.copyOf(names, size * 2);
            values = Arrays.copyOf(values, size * 2);
        }
        names[size] = name;
        values[size] = value;
        size++;
    }

    /** Replaces the value of the {@code i}-th field (an obsolete line folding continued it). */
    void value(int i, String value) {
        values[i] = value;
    }

    public int size() {
        return size;
    }

    public String name(int i) {
        return names[i];
    }

    public String value(int i) {
        return values[i];
    }

    /** The first value of {@code name}, or {@code null}. */
    public String first(String name) {
        for (int i = 0; i < size; i++) {
            if (names[i].equalsIgnoreCase(name)) {
                return values[i];
            }
        }
        return null;
    }

    /** Every value of {@code name} joined with {@code ", "} in order (RFC 9110 §5.3), or {@code null}. */
    public String joined(String name) {
        String joined = null;
        for (int i = 0; i < size; i++) {
            if (names[i].equalsIgnoreCase(name)) {
                joined = joined == null ? values[i] : joined + ", " + values[i];
            }
        }
        return joined;
    }

    /** Whether any value of {@code name} contains {@code token} as a comma-separated element (case-insensitive). */
    public boolean hasToken(String name, String token) {
        for (int i = 0; i < size; i++) {
            if (names[i].equalsIgnoreCase(name)) {
                for (String part : values[i].split(",")) {
                    if (part.trim().equalsIgnoreCase(token)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
