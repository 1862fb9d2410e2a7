package dev.vllmrouter.upstream;

/** Receives the header fields of a request to a worker, in order. */
@FunctionalInterface
public interface HeaderSink {
    void add(String name, String value);
}
