package dev.vllmrouter.tokenize;

/** A tokenizer directory that cannot be used: the router refuses to start, with this one-line message. */
public final class TokenizerLoadException extends RuntimeException {
    public TokenizerLoadException(String message) {
        super(message);
    }
}
