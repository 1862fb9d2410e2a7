package dev.vllmrouter.tokenize;

/** A chat template that cannot be loaded, or that fails (or raises) on a conversation. */
public final class TemplateException extends TokenizeException {
    public TemplateException(String message) {
        super(message);
    }
}
