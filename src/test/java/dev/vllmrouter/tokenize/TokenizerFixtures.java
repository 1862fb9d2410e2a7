package dev.vllmrouter.tokenize;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.zip.GZIPInputStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The real tokenizer files of Qwen3 and Llama 3.1 kept in src/test/resources/tokenize (gzip copies of what the npm
 * packages of scripts/tokenizer-oracle.sh ship), unpacked into a directory as a Hugging Face model directory looks.
 */
public final class TokenizerFixtures {
    static final ObjectMapper JSON = new ObjectMapper();

    private TokenizerFixtures() {
    }

    /** Unpacks model {@code qwen3} or {@code llama3_1} under {@code parent} and returns its directory. */
    public static Path modelDirectory(String model, Path parent) {
        Path dir = parent.resolve(model);
        try {
            Files.createDirectories(dir);
            try (InputStream gz = resource(model + "/tokenizer.json.gz");
                 InputStream json = new GZIPInputStream(gz)) {
                Files.copy(json, dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
            }
            try (InputStream config = resource(model + "/tokenizer_config.json")) {
                Files.copy(config, dir.resolve("tokenizer_config.json"), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    public static JsonNode json(String name) {
        try (InputStream in = resource(name)) {
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static InputStream resource(String name) {
        InputStream in = TokenizerFixtures.class.getResourceAsStream("/tokenize/" + name);
        if (in == null) {
            throw new IllegalStateException("missing test resource tokenize/" + name);
        }
        return in;
    }
}
