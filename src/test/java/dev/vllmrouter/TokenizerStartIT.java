package dev.vllmrouter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vllmrouter.config.ConfigException;
import dev.vllmrouter.config.RouterCli;
import dev.vllmrouter.tokenize.PromptTokenizer;
import dev.vllmrouter.tokenize.TokenizerFixtures;

/**
 * {@code --tokenizer-path} as a user gives it: the router loads the model directories at start and holds one
 * tokenizer per model; a directory it cannot use stops the start with exit status 2 and one line.
 */
class TokenizerStartIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HELLO = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello!\"}]}";

    @TempDir
    static Path models;
    private static Path qwen3;
    private static Path llama;

    @BeforeAll
    static void unpack() {
        qwen3 = TokenizerFixtures.modelDirectory("qwen3", models);
        llama = TokenizerFixtures.modelDirectory("llama3_1", models);
    }

    @Test
    void oneDirectoryServesEveryModel() throws Exception {
        try (RouterApp app = RouterApp.start(RouterCli.parse(Map.of(), "--port", "0", "--prometheus-port", "0",
                "--tokenizer-path", qwen3.toString()))) {
            PromptTokenizer tokenizer = app.tokenizers().forModel("Qwen/Qwen3-8B").orElseThrow();
            assertThat(app.tokenizers().forModel("anything else")).containsSame(tokenizer);
            // <|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n in Qwen3's vocabulary
            assertThat(tokenizer.chat(JSON.readTree(HELLO)))
                    .containsExactly(151644, 872, 198, 9707, 0, 151645, 198, 151644, 77091, 198);
        }
    }

    @Test
    void modelsGetTheirOwnDirectoryFromTheYamlFile(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("router.yaml");
        Files.writeString(yaml, "tokenizer-path:\n  - Qwen/Qwen3-8B=" + qwen3 + "\n  - meta-llama/Llama-3.1-8B-Instruct="
                + llama + "\n");
        try (RouterApp app = RouterApp.start(RouterCli.parse(Map.of(), "--port", "0", "--prometheus-port", "0",
                "--config", yaml.toString()))) {
            assertThat(app.tokenizers().forModel("Qwen/Qwen3-8B").orElseThrow().directory()).isEqualTo(qwen3);
            assertThat(app.tokenizers().forModel("meta-llama/Llama-3.1-8B-Instruct").orElseThrow().directory())
                    .isEqualTo(llama);
            assertThat(app.tokenizers().forModel("other")).as("no directory for every model").isEmpty();
        }
    }

    @Test
    void withoutTheFlagNoModelHasATokenizer() {
        try (RouterApp app = RouterApp.start(RouterCli.parse(Map.of(), "--port", "0", "--prometheus-port", "0"))) {
            assertThat(app.tokenizers().isEmpty()).isTrue();
            assertThat(app.tokenizers().forModel("m")).isEmpty();
        }
    }

    @Test
    void aDirectoryWithoutTokenizerJsonStopsTheStartWithStatus2AndOneLine(@TempDir Path empty) {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            status = Main.run(new String[] {"--port", "0", "--prometheus-port", "0", "--tokenizer-path",
                    empty.toString()});
        } finally {
            System.setErr(saved);
        }
        assertThat(status).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8).strip()).isEqualTo("vllm-router: error: --tokenizer-path: "
                + empty + " has no tokenizer.json (a Hugging Face model directory with tokenizer.json and "
                + "tokenizer_config.json or chat_template.jinja is needed)");
    }

    @Test
    void aTokenizerJsonThatDoesNotLoadStopsTheStart(@TempDir Path broken) throws Exception {
        Files.writeString(broken.resolve("tokenizer.json"), "{\"model\": \"not a tokenizer\"}");
        assertThatThrownBy(() -> RouterApp.start(RouterCli.parse(Map.of(), "--port", "0", "--prometheus-port", "0",
                "--tokenizer-path", broken.toString())))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("--tokenizer-path: cannot load " + broken.resolve("tokenizer.json"));
    }
}
