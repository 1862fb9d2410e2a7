package dev.vllmrouter.tokenize;

/**
 * A request the router cannot tokenize as the worker would: a shape it does not understand (images, a template of
 * its own), or a template that fails. The caller routes without token ids then; the worker answers the client.
 */
public class TokenizeException extends RuntimeException {
    public TokenizeException(String message) {
        super(message);
    }
}
