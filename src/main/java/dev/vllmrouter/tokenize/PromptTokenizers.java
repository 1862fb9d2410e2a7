package dev.vllmrouter.tokenize;

import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The router's tokenizers, per model: the {@code MODEL=DIR} ones of {@code --tokenizer-path}, else the plain
 * {@code DIR} one for every model, else none (the caller asks the worker's {@code POST /tokenize} or uses the
 * approximate tree). Loaded once at start, each directory once; immutable and thread-safe afterwards.
 */
public final class PromptTokenizers implements AutoCloseable {
    private final PromptTokenizer fallback;
    private final Map<String, PromptTokenizer> perModel;
    private final Map<Path, PromptTokenizer> loaded;

    private PromptTokenizers(PromptTokenizer fallback, Map<String, PromptTokenizer> perModel,
                             Map<Path, PromptTokenizer> loaded) {
        this.fallback = fallback;
        this.perModel = Map.copyOf(perModel);
        this.loaded = Map.copyOf(loaded);
    }

    /** No tokenizer for any model. */
    public static PromptTokenizers none() {
        return new PromptTokenizers(null, Map.of(), Map.of());
    }

    /**
     * Loads every directory.
     *
     * @param defaultDir the directory for models without their own, or {@code null}
     * @throws TokenizerLoadException for the first directory that cannot be used (those loaded are closed)
     */
    public static PromptTokenizers load(Path defaultDir, Map<String, Path> perModel, Clock clock) {
        Map<Path, PromptTokenizer> loaded = new LinkedHashMap<>();
        try {
            PromptTokenizer fallback = defaultDir == null ? null : loadOnce(defaultDir, loaded, clock);
            Map<String, PromptTokenizer> models = new LinkedHashMap<>();
            perModel.forEach((model, dir) -> models.put(model, loadOnce(dir, loaded, clock)));
            return new PromptTokenizers(fallback, models, loaded);
        } catch (RuntimeException e) {
            loaded.values().forEach(PromptTokenizer::close);
            throw e;
        }
    }

    private static PromptTokenizer loadOnce(Path dir, Map<Path, PromptTokenizer> loaded, Clock clock) {
        Path key = dir.toAbsolutePath().normalize();
        PromptTokenizer existing = loaded.get(key);
        if (existing != null) {
            return existing;
        }
        PromptTokenizer tokenizer = PromptTokenizer.load(dir, clock);
        loaded.put(key, tokenizer);
        return tokenizer;
    }

    /** The tokenizer of {@code model} (the request's {@code model} field), if the router has one. */
    public Optional<PromptTokenizer> forModel(String model) {
        PromptTokenizer own = model == null ? null : perModel.get(model);
        return Optional.ofNullable(own != null ? own : fallback);
    }

    /** Whether no tokenizer was configured. */
    public boolean isEmpty() {
        return loaded.isEmpty();
    }

    /** How many model directories were loaded. */
    public int size() {
        return loaded.size();
    }

    @Override
    public void close() {
        loaded.values().forEach(PromptTokenizer::close);
    }
}
