package dev.vllmrouter;

import java.util.ArrayList;
import java.util.List;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.vllmrouter.testing.Fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The official OpenAI Java SDK, unmodified, pointed at the router. */
class OpenAiSdkIT {
    private static Fleet fleet;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        fleet = Fleet.start(2);
        client = OpenAIOkHttpClient.builder()
                .baseUrl(fleet.url("/v1"))
                .apiKey("sk-anything")
                .maxRetries(0)
                .build();
    }

    @AfterAll
    static void stop() {
        client.close();
        fleet.close();
    }

    @Test
    void listsModels() {
        List<Model> models = client.models().list().data();
        assertThat(models).extracting(Model::id).containsExactly("demo");
        assertThat(models.get(0).ownedBy()).isEqualTo("vllm");
    }

    @Test
    void chatCompletion() {
        ChatCompletion c = client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("demo").addUserMessage("Say hello").maxCompletionTokens(4).build());
        assertThat(c.choices()).hasSize(1);
        assertThat(c.choices().get(0).message().content()).isPresent();
        assertThat(c.usage()).isPresent();
        assertThat(c.usage().get().completionTokens()).isEqualTo(4);
    }

    @Test
    void streamingChatWithUsage() {
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
                ChatCompletionCreateParams.builder().model("demo").addUserMessage("Count").maxCompletionTokens(6)
                        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(chunks::add);
        }
        StringBuilder text = new StringBuilder();
        chunks.forEach(ch -> ch.choices().forEach(c -> c.delta().content().ifPresent(text::append)));
        assertThat(text).isNotEmpty();
        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertThat(last.choices()).isEmpty();
        assertThat(last.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(6));
        assertThat(chunks.stream().flatMap(ch -> ch.choices().stream())
                .anyMatch(c -> c.finishReason().isPresent())).isTrue();
    }

    @Test
    void completionStreamAndNot() {
        Completion c = client.completions().create(CompletionCreateParams.builder()
                .model("demo").prompt("Once upon").maxTokens(3).build());
        assertThat(c.choices().get(0).text()).isNotEmpty();
        assertThat(c.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(3));

        List<Completion> parts = new ArrayList<>();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(CompletionCreateParams.builder()
                .model("demo").prompt("Once upon").maxTokens(5)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(parts::add);
        }
        assertThat(parts.stream().filter(p -> !p.choices().isEmpty())).hasSize(5);
        assertThat(parts.get(parts.size() - 1).usage()).hasValueSatisfying(
                u -> assertThat(u.completionTokens()).isEqualTo(5));
    }

    @Test
    void embeddings() {
        CreateEmbeddingResponse e = client.embeddings().create(EmbeddingCreateParams.builder()
                .model("demo").input("hello world").build());
        assertThat(e.data()).hasSize(1);
        assertThat(e.data().get(0).embedding()).isNotEmpty();
    }

    @Test
    void workerErrorsBecomeApiExceptions() {
        fleet.workers().forEach(w -> w.faults().failNext(1, 400));
        try {
            assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder()
                    .model("demo").addUserMessage("x").build()))
                    .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.statusCode()).isEqualTo(400));
        } finally {
            fleet.workers().forEach(w -> w.faults().reset());
        }
        assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder()
                .model("no-such-model").addUserMessage("x").build()))
                .isInstanceOfSatisfying(NotFoundException.class, e -> assertThat(e.getMessage()).contains("no-such-model"));
    }

    @Test
    void routerErrorsAreApiExceptionsToo() {
        try (Fleet small = Fleet.start(1, "--max-payload-size", "64")) {
            OpenAIClient c = OpenAIOkHttpClient.builder().baseUrl(small.url("/v1")).apiKey("k").maxRetries(0).build();
            assertThatThrownBy(() -> c.chat().completions().create(ChatCompletionCreateParams.builder()
                    .model("demo").addUserMessage("x".repeat(200)).build()))
                    .isInstanceOfSatisfying(com.openai.errors.OpenAIServiceException.class, e -> {
                        assertThat(e.statusCode()).isEqualTo(413);
                        assertThat(e.getMessage()).contains("max-payload-size");
                    });
            c.close();
        }
    }
}
