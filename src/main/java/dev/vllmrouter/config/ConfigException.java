package dev.vllmrouter.config;

/** A start-up configuration error; the message names the flag and says what is expected. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
