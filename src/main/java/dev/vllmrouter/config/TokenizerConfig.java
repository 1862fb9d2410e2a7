package dev.vllmrouter.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --tokenizer-path}: the Hugging Face model directories the router tokenizes prompts with. Each value is
 * {@code DIR} (every model) or {@code MODEL=DIR} (that model; wins over the plain one). Checked at start: each
 * directory must exist and hold {@code tokenizer.json}.
 *
 * @param defaultPath the directory for every model without its own, or {@code null}
 * @param perModel    model name to directory
 */
public record TokenizerConfig(Path defaultPath, Map<String, Path> perModel) {

    public TokenizerConfig {
        perModel = Map.copyOf(perModel);
    }

    /** No router-side tokenization. */
    public static TokenizerConfig none() {
        return new TokenizerConfig(null, Map.of());
    }

    public boolean isEmpty() {
        return defaultPath == null && perModel.isEmpty();
    }

    static TokenizerConfig parse(List<String> values) {
        Path plain = null;
        Map<String, Path> perModel = new LinkedHashMap<>();
        for (String raw : values) {
            String value = raw.trim();
            if (value.isEmpty()) {
                continue;
            }
            int eq = value.indexOf('=');
            if (eq < 0) {
                if (plain != null) {
                    throw new ConfigException("--tokenizer-path: two directories for every model (" + plain + ", "
                            + value + "); give MODEL=DIR for all but one");
                }
                plain = checked(value);
            } else {
                String model = value.substring(0, eq).trim();
                if (model.isEmpty() || perModel.put(model, checked(value.substring(eq + 1).trim())) != null) {
                    throw new ConfigException("--tokenizer-path: '" + value + "' needs MODEL=DIR, each model once");
                }
            }
        }
        return new TokenizerConfig(plain, perModel);
    }

    private static Path checked(String dir) {
        Path path = Path.of(dir);
        if (!Files.isDirectory(path)) {
            throw new ConfigException("--tokenizer-path: " + dir + " is not a directory");
        }
        if (!Files.isRegularFile(path.resolve("tokenizer.json"))) {
            throw new ConfigException("--tokenizer-path: " + dir + " has no tokenizer.json (a Hugging Face model "
                    + "directory with tokenizer.json and tokenizer_config.json or chat_template.jinja is needed)");
        }
        return path;
    }
}
